import { z } from 'zod';

/** Temporary access: what may be asked for, the two approvals, and when a grant is in force. Pure. */

export const GRANT_ACTIONS = ['reveal', 'export', 'edit'] as const;
export type GrantAction = (typeof GRANT_ACTIONS)[number];
export type GrantState = 'pending' | 'approved' | 'rejected' | 'revoked';
export type GrantStatus = 'pending' | 'active' | 'expired' | 'rejected' | 'revoked';

const REASON = 'a reason is required (3–500 characters)';
/** The reason typed for a reveal or an access request: said in words when it is missing, too short or too long. */
export const reasonSchema = z.string({ error: REASON }).trim().min(3, REASON).max(500, REASON);

export const grantRequestSchema = (maxDays: number) =>
  z
    .object({
      customers: z.array(z.string().min(1).max(64)).min(1).max(100).optional(),
      orgUnit: z.string().min(1).max(64).optional(),
      actions: z.array(z.enum(GRANT_ACTIONS)).min(1).max(GRANT_ACTIONS.length),
      reason: reasonSchema,
      days: z.number().int().min(1).max(maxDays, `at most ${maxDays} days`),
    })
    .strict()
    .refine((r) => !!r.customers !== !!r.orgUnit, { message: 'name either customers or one org unit', path: ['customers'] });

export type GrantRequest = z.infer<ReturnType<typeof grantRequestSchema>>;

export interface GrantFacts {
  state: GrantState;
  requesterId: number;
  headApproverId: number | null;
  archiveApproverId: number | null;
  expiresAt: Date | string | null;
}

/** Where a grant stands at `now` — to the second, no scheduler involved. */
export const grantStatus = (g: Pick<GrantFacts, 'state' | 'expiresAt'>, now: Date): GrantStatus => {
  if (g.state !== 'approved') return g.state;
  return g.expiresAt && now.getTime() < new Date(g.expiresAt).getTime() ? 'active' : 'expired';
};

export type Approval = { slot: 'head' | 'archive' } | { refused: string };

/**
 * Which approval an approver gives: a head of the requester's org unit or of a unit above it (the
 * department head) fills the head slot, an archive admin the archive slot; two different people, neither
 * of them the requester.
 */
export const nextApproval = (g: GrantFacts, approver: { id: number; isHead: boolean; isArchiveAdmin: boolean }): Approval => {
  if (g.state !== 'pending') return { refused: `the request is ${g.state}` };
  if (approver.id === g.requesterId) return { refused: 'nobody approves their own request' };
  if (approver.id === g.headApproverId || approver.id === g.archiveApproverId) return { refused: 'you have approved this request already' };
  if (approver.isHead && g.headApproverId === null) return { slot: 'head' };
  if (approver.isArchiveAdmin && g.archiveApproverId === null) return { slot: 'archive' };
  return { refused: 'the approval still needed is from a head of the requester’s org unit or of a unit above it, or an archive admin' };
};

export const DAY_MS = 86_400_000;
