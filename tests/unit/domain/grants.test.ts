import { grantStatus, nextApproval, grantRequestSchema, type GrantFacts } from '../../../plugins/id-vault/server/src/domain';

const pending: GrantFacts = { state: 'pending', requesterId: 1, headApproverId: null, archiveApproverId: null, expiresAt: null };
const head = { id: 2, isHead: true, isArchiveAdmin: false };
const archive = { id: 3, isHead: false, isArchiveAdmin: true };
const both = { id: 4, isHead: true, isArchiveAdmin: true };

describe('grant status, to the second', () => {
  const now = new Date('2026-11-22T10:00:00Z');
  test.each([
    [{ state: 'pending', expiresAt: null }, 'pending'],
    [{ state: 'rejected', expiresAt: null }, 'rejected'],
    [{ state: 'revoked', expiresAt: '2026-12-01T00:00:00Z' }, 'revoked'],
    [{ state: 'approved', expiresAt: '2026-11-22T10:00:01Z' }, 'active'],
    [{ state: 'approved', expiresAt: '2026-11-22T10:00:00Z' }, 'expired'],
    [{ state: 'approved', expiresAt: null }, 'expired'],
  ] as const)('%p → %s', (g, status) => {
    expect(grantStatus(g as any, now)).toBe(status);
  });
});

describe('two approvals by two different people', () => {
  test('a head fills the head slot, an archive admin the archive slot', () => {
    expect(nextApproval(pending, head)).toEqual({ slot: 'head' });
    expect(nextApproval(pending, archive)).toEqual({ slot: 'archive' });
    expect(nextApproval({ ...pending, headApproverId: 2 }, archive)).toEqual({ slot: 'archive' });
  });
  test('someone who is both fills the slot still open, once', () => {
    expect(nextApproval(pending, both)).toEqual({ slot: 'head' });
    expect(nextApproval({ ...pending, headApproverId: 2 }, both)).toEqual({ slot: 'archive' });
    expect(nextApproval({ ...pending, headApproverId: 4 }, both)).toHaveProperty('refused');
  });
  test.each([
    ['self-approval', pending, { id: 1, isHead: true, isArchiveAdmin: true }],
    ['neither head nor archive admin', pending, { id: 9, isHead: false, isArchiveAdmin: false }],
    ['second head', { ...pending, headApproverId: 2 }, { id: 5, isHead: true, isArchiveAdmin: false }],
    ['not pending', { ...pending, state: 'rejected' as const }, head],
    ['already approved', { ...pending, state: 'approved' as const }, archive],
  ])('refused: %s', (_l, g, who) => {
    expect(nextApproval(g, who)).toHaveProperty('refused');
  });
});

describe('a request', () => {
  const schema = grantRequestSchema(30);
  test.each([
    [{ customers: ['a'], actions: ['reveal'], reason: 'customer called', days: 30 }, true],
    [{ orgUnit: 'u', actions: ['reveal', 'export', 'edit'], reason: 'audit prep', days: 1 }, true],
    [{ customers: ['a'], orgUnit: 'u', actions: ['reveal'], reason: 'both', days: 1 }, false],
    [{ actions: ['reveal'], reason: 'neither', days: 1 }, false],
    [{ customers: ['a'], actions: ['reveal'], reason: 'too long', days: 31 }, false],
    [{ customers: ['a'], actions: ['reveal'], reason: 'zero', days: 0 }, false],
    [{ customers: ['a'], actions: ['reveal'], reason: 'fraction', days: 1.5 }, false],
    [{ customers: ['a'], actions: ['delete'], reason: 'bad action', days: 1 }, false],
    [{ customers: ['a'], actions: [], reason: 'no action', days: 1 }, false],
    [{ customers: ['a'], actions: ['reveal'], reason: '  ', days: 1 }, false],
    [{ customers: ['a'], actions: ['reveal'], days: 1 }, false],
    [{ customers: ['a'], actions: ['reveal'], reason: 'extra', days: 1, approver: 2 }, false],
  ])('%p → %s', (input, ok) => {
    expect(schema.safeParse(input).success).toBe(ok);
  });
  test('a lower configured maximum holds', () => {
    expect(grantRequestSchema(7).safeParse({ customers: ['a'], actions: ['reveal'], reason: 'week', days: 8 }).success).toBe(false);
  });
});
