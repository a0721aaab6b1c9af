import {
  resolveAccess,
  describeCaller,
  isSuperAdmin,
  accessPolicySchema,
  subjectKeys,
  type AccessPolicy,
  type Caller,
} from '../../../plugins/id-vault/server/src/domain';

const C = 'plugin::id-vault.customer';
const ID = `${C}#idNumber`;
const PHONE = `${C}#phone`;
const see = (caller: Caller, policy?: AccessPolicy, field = 'idNumber') => resolveAccess(caller, policy).visibility(C, field);

describe('who sees what, with no policy stored', () => {
  test.each([
    [{ kind: 'system' }, 'plain'],
    [{ kind: 'admin', id: 1, roles: ['strapi-super-admin'] }, 'plain'],
    [{ kind: 'admin', id: 1, roles: ['strapi-editor', 'strapi-super-admin'] }, 'plain'],
    [{ kind: 'admin', id: 2, roles: ['strapi-editor'] }, 'masked'],
    [{ kind: 'admin', id: 2, roles: ['strapi-author'] }, 'masked'],
    [{ kind: 'admin', id: 3, roles: [] }, 'masked'],
    [{ kind: 'admin', id: 3, roles: ['Super Admin'] }, 'masked'], // role names are not codes
    [{ kind: 'admin', id: 3, roles: ['strapi-editor'], actions: new Set(['plugin::id-vault.customer.reveal']) }, 'masked'], // reveal is an act
    [{ kind: 'api-token', id: 1, tokenType: 'full-access' }, 'plain'],
    [{ kind: 'api-token', id: 2, tokenType: 'read-only' }, 'masked'],
    [{ kind: 'api-token', id: 3, tokenType: 'custom' }, 'masked'],
    [{ kind: 'user', id: 1, role: 'authenticated' }, 'masked'],
    [{ kind: 'user', id: 1, role: 'strapi-super-admin' }, 'masked'], // a front-end user is never an admin
    [{ kind: 'user', id: 1, role: null }, 'masked'],
    [{ kind: 'public' }, 'hidden'],
  ] as [Caller, string][])('%p → %s', (caller, visibility) => {
    expect(see(caller)).toBe(visibility);
  });

  test.each([{ kind: 'martian' }, {}, null, undefined, { kind: 'admin', id: 1 }])('unknown or malformed callers fail closed: %p', (caller) => {
    const a = resolveAccess(caller as unknown as Caller);
    expect(a.visibility(C, 'idNumber')).not.toBe('plain');
    expect(a.viewHidden).toBe(false);
    expect(a.export).toBe('none');
    expect(a.can('customer.reveal')).toBe(false);
  });

  test('unknown kinds see nothing and reach no row', () => {
    const a = resolveAccess({ kind: 'martian' } as unknown as Caller);
    expect(a.visibility(C, 'idNumber')).toBe('hidden');
    expect([a.read, a.write]).toEqual(['none', 'none']);
  });

  test('default row scopes: users their own rows, tokens all, admins all (RBAC conditions apply there)', () => {
    expect(resolveAccess({ kind: 'user', id: 1, role: 'authenticated' }).read).toBe('own');
    expect(resolveAccess({ kind: 'api-token', id: 2, tokenType: 'read-only' }).read).toBe('all');
    expect(resolveAccess({ kind: 'admin', id: 2, roles: ['strapi-editor'] }).write).toBe('all');
    expect(resolveAccess({ kind: 'public' }).read).toBe('none');
  });

  test('isSuperAdmin', () => {
    expect(isSuperAdmin({ kind: 'admin', id: 1, roles: ['strapi-super-admin'] })).toBe(true);
    expect(isSuperAdmin({ kind: 'admin', id: 1, roles: ['strapi-editor'] })).toBe(false);
    expect(isSuperAdmin({ kind: 'system' })).toBe(false);
    expect(isSuperAdmin({ kind: 'api-token', id: 1, tokenType: 'full-access' })).toBe(false);
  });
});

describe('the stored matrix', () => {
  const policy: AccessPolicy = {
    subjects: {
      'admin-role:strapi-editor': { fields: { [ID]: 'hidden', [PHONE]: 'plain' } },
      'admin-role:auditor': { fields: { [ID]: 'masked' } },
      'up-role:sales_rep': { fields: { [ID]: 'masked', [PHONE]: 'hidden' }, read: 'unit', write: 'own', export: 'none' },
      'up-role:authenticated': { viewHidden: true },
      'api-token:7': { fields: { [ID]: 'plain' }, export: 'masked' },
      'api-token:1': { fields: { [ID]: 'hidden' } },
    },
  };
  const editor: Caller = { kind: 'admin', id: 5, roles: ['strapi-editor'] };
  const rep: Caller = { kind: 'user', id: 9, role: 'sales_rep' };

  test('per field, per subject; a field without an entry is masked', () => {
    expect(see(editor, policy, 'idNumber')).toBe('hidden');
    expect(see(editor, policy, 'phone')).toBe('plain');
    expect(see(editor, policy, 'email')).toBe('masked');
    expect(see(rep, policy, 'phone')).toBe('hidden');
    expect(see({ kind: 'api-token', id: 7, tokenType: 'custom' }, policy)).toBe('plain');
    expect(see({ kind: 'api-token', id: 8, tokenType: 'custom' }, policy)).toBe('masked');
  });

  test('several admin roles add up: the most open setting wins', () => {
    expect(see({ kind: 'admin', id: 5, roles: ['strapi-editor', 'auditor'] }, policy)).toBe('masked');
    expect(see({ kind: 'admin', id: 5, roles: ['strapi-editor', 'other'] }, policy)).toBe('masked'); // no entry = masked
  });

  test('super admins and full-access tokens are outside the matrix', () => {
    expect(see({ kind: 'api-token', id: 1, tokenType: 'full-access' }, policy)).toBe('plain');
    expect(see({ kind: 'admin', id: 1, roles: ['strapi-super-admin', 'strapi-editor'] }, policy)).toBe('plain');
  });

  test('row scope, hidden customers and export of content-API callers', () => {
    const a = resolveAccess(rep, policy);
    expect([a.read, a.write, a.viewHidden, a.export]).toEqual(['unit', 'own', false, 'none']);
    expect(resolveAccess({ kind: 'user', id: 1, role: 'authenticated' }, policy).viewHidden).toBe(true);
    expect(resolveAccess({ kind: 'api-token', id: 7, tokenType: 'custom' }, policy).export).toBe('masked');
  });

  test('admins get hidden customers and exports from their actions, not the matrix', () => {
    const actions = new Set(['plugin::id-vault.customer.view-hidden', 'plugin::id-vault.export.masked']);
    const a = resolveAccess({ ...editor, actions }, policy);
    expect([a.viewHidden, a.export, a.can('customer.reveal'), a.can('customer.view-hidden')]).toEqual([true, 'masked', false, true]);
  });

  test('subject keys', () => {
    expect(subjectKeys(editor)).toEqual(['admin-role:strapi-editor']);
    expect(subjectKeys(rep)).toEqual(['up-role:sales_rep']);
    expect(subjectKeys({ kind: 'api-token', id: 3, tokenType: 'custom' })).toEqual(['api-token:3']);
    expect(subjectKeys({ kind: 'public' })).toEqual([]);
  });

  test.each([
    [{ subjects: {} }, true],
    [policy, true],
    [{ subjects: { 'up-role:x': { fields: { [ID]: 'visible' } } } }, false],
    [{ subjects: { 'up-role:x': { read: 'everything' } } }, false],
    [{ subjects: { 'up-role:x': { fields: { idNumber: 'plain' } } } }, false], // not uid#field
    [{ subjects: { 'group:x': {} } }, false],
    [{ subjects: { 'up-role:x': { extra: true } } }, false],
    [{ subjects: {}, more: 1 }, false],
    [{}, false],
  ])('policy shape %#', (input, ok) => {
    expect(accessPolicySchema.safeParse(input).success).toBe(ok);
  });
});

describe('audit actor', () => {
  test.each([
    [{ kind: 'system' }, { actorType: 'system', actorId: null }],
    [{ kind: 'public' }, { actorType: 'public', actorId: null }],
    [{ kind: 'admin', id: 3, roles: [] }, { actorType: 'admin', actorId: '3' }],
    [{ kind: 'user', id: 'abc', role: null }, { actorType: 'user', actorId: 'abc' }],
    [{ kind: 'api-token', id: 7, tokenType: 'read-only' }, { actorType: 'api-token', actorId: '7' }],
  ] as [Caller, object][])('%p', (caller, out) => {
    expect(describeCaller(caller)).toEqual(out);
  });
});
