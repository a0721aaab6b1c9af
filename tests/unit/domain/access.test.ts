import { fieldVisibility, describeCaller, isSuperAdmin, type Caller } from '../../../plugins/id-vault/server/src/domain';

const subject = { uid: 'plugin::id-vault.customer', field: 'idNumber' };

describe('who sees what', () => {
  test.each([
    [{ kind: 'system' }, 'plain'],
    [{ kind: 'admin', id: 1, roles: ['strapi-super-admin'] }, 'plain'],
    [{ kind: 'admin', id: 1, roles: ['strapi-editor', 'strapi-super-admin'] }, 'plain'],
    [{ kind: 'admin', id: 2, roles: ['strapi-editor'] }, 'masked'],
    [{ kind: 'admin', id: 2, roles: ['strapi-author'] }, 'masked'],
    [{ kind: 'admin', id: 3, roles: [] }, 'masked'],
    [{ kind: 'admin', id: 3, roles: ['Super Admin'] }, 'masked'], // role names are not codes
    [{ kind: 'api-token', id: 1, tokenType: 'full-access' }, 'plain'],
    [{ kind: 'api-token', id: 2, tokenType: 'read-only' }, 'masked'],
    [{ kind: 'api-token', id: 3, tokenType: 'custom' }, 'masked'],
    [{ kind: 'user', id: 1, role: 'authenticated' }, 'masked'],
    [{ kind: 'user', id: 1, role: 'strapi-super-admin' }, 'masked'], // a front-end user is never an admin
    [{ kind: 'user', id: 1, role: null }, 'masked'],
    [{ kind: 'public' }, 'masked'],
  ] as [Caller, string][])('%p → %s', (caller, visibility) => {
    expect(fieldVisibility(caller, subject)).toBe(visibility);
  });

  test.each([{ kind: 'martian' }, {}, null, undefined, { kind: 'admin', id: 1 }])('unknown or malformed callers fail closed: %p', (caller) => {
    expect(fieldVisibility(caller as unknown as Caller, subject)).not.toBe('plain');
  });

  test('unknown kinds are hidden', () => {
    expect(fieldVisibility({ kind: 'martian' } as unknown as Caller, subject)).toBe('hidden');
  });

  test('isSuperAdmin', () => {
    expect(isSuperAdmin({ kind: 'admin', id: 1, roles: ['strapi-super-admin'] })).toBe(true);
    expect(isSuperAdmin({ kind: 'admin', id: 1, roles: ['strapi-editor'] })).toBe(false);
    expect(isSuperAdmin({ kind: 'system' })).toBe(false);
    expect(isSuperAdmin({ kind: 'api-token', id: 1, tokenType: 'full-access' })).toBe(false);
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
