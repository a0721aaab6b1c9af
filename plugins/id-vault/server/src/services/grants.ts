import type { Core } from '@strapi/strapi';
import { errors } from '@strapi/utils';
import { z } from 'zod';
import { and, grantRequestSchema, grantStatus, nextApproval, reasonSchema, suspensionMessage, DAY_MS, type GrantAction, type Access } from '../domain';
import { getService, UIDS, ARCHIVE_ADMIN_ROLE } from '../utils/strapi';
import { asSystem, oncePerRequest } from '../utils/caller';

const POPULATE = { requester: true, orgUnit: true, headApprover: true, archiveApprover: true, decidedBy: true };
const revealSchema = z
  .object({
    fields: z.array(z.string().min(1).max(100)).min(1).max(50),
    reason: reasonSchema,
  })
  .strict();

const badRequest = (e: z.ZodError) =>
  new errors.ValidationError(e.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '), {
    errors: e.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
  });

// Denials are PolicyErrors (403): Strapi turns any other ForbiddenError thrown behind a route into a bare
// "Forbidden", and the admin panel shows the caller the reason.
const person = (u: any) => (u ? { id: u.id, name: [u.firstname, u.lastname].filter(Boolean).join(' ') || u.username || `#${u.id}` } : null);

/**
 * Temporary access requests (two approvals, at most grantMaxDays, revocable) and the reveal act they
 * and the `customer.reveal` permission unlock. Every step is an audit event.
 */
const grants = ({ strapi }: { strapi: Core.Strapi }) => {
  const q = () => strapi.db.query(UIDS.accessGrant as any);
  const audit = () => getService(strapi, 'audit');
  const accessService = () => getService(strapi, 'access');

  /** Org units an admin user is a member or a head of (`below`: and every unit under them). */
  const adminUnits = (userId: number, relation: 'members' | 'heads', below = false) => accessService().units({ [relation]: { id: userId } }, below);

  /**
   * Whether anyone can give the head approval of `requesterId`'s requests: a head (other than the requester) of
   * one of their org units or of a unit above it (walks `parent` up). False for a requester in no unit or in a
   * chain whose only head is the requester.
   */
  const chainHasHead = async (requesterId: number): Promise<boolean> => {
    const units = strapi.db.query(UIDS.orgUnit);
    const seen = new Set<number>();
    let frontier = await adminUnits(requesterId, 'members');
    while (frontier.length) {
      frontier.forEach((id) => seen.add(id));
      const rows = await units.findMany({ where: { id: { $in: frontier } }, select: ['id'], populate: { heads: { select: ['id'] }, parent: { select: ['id'] } } });
      // The requester never approves their own request, even as a head.
      if (rows.some((u: any) => (u.heads ?? []).some((h: any) => h.id !== requesterId))) return true;
      frontier = [...new Set(rows.map((u: any) => u.parent?.id).filter((id: any) => typeof id === 'number' && !seen.has(id)))] as number[];
    }
    return false;
  };

  /** A grant as the panel shows it. Customer names only where the caller may read the customer (query layer). */
  const present = async (g: any, now = new Date()) => {
    const docs: string[] = Array.isArray(g.customers) ? g.customers : [];
    const names = docs.length
      ? await strapi.db.query(UIDS.customer).findMany({ where: { documentId: { $in: docs } }, select: ['documentId', 'name'] })
      : [];
    return {
      documentId: g.documentId,
      status: grantStatus(g, now),
      requester: person(g.requester),
      customers: docs.map((d) => ({ documentId: d, name: names.find((n: any) => n.documentId === d)?.name ?? '' })),
      orgUnit: g.orgUnit ? { documentId: g.orgUnit.documentId, name: g.orgUnit.name } : null,
      actions: g.actions,
      reason: g.reason,
      days: g.days,
      headApprover: person(g.headApprover),
      archiveApprover: person(g.archiveApprover),
      createdAt: g.createdAt,
      approvedAt: g.approvedAt ?? null,
      expiresAt: g.expiresAt ?? null,
      decidedBy: person(g.decidedBy),
      // A pending request still waiting for a head approval that nobody can give: said, not left to wait.
      noHead: g.state === 'pending' && !g.headApprover && !(g.requester && (await chainHasHead(g.requester.id))),
    };
  };

  const load = async (documentId: string) => {
    const g = await q().findOne({ where: { documentId }, populate: POPULATE });
    if (!g) throw new errors.NotFoundError('no such access request');
    return g;
  };

  /** The user's approved grants that are in force now (checked to the second) for any of `actions`. */
  const inForce = async (userId: number, actions: readonly GrantAction[]): Promise<any[]> => {
    const now = new Date();
    const rows = await q().findMany({
      where: { requester: { id: userId }, state: 'approved', expiresAt: { $gt: now } },
      populate: { orgUnit: { select: ['id'] } },
    });
    return rows.filter((g: any) => grantStatus(g, now) === 'active' && (g.actions ?? []).some((a: GrantAction) => actions.includes(a)));
  };

  const record = (action: string, outcome: 'success' | 'denied' | 'rejected', subjectId: string | null, details?: Record<string, unknown>) =>
    audit().record({ action: `grant.${action}`, outcome, subjectUid: UIDS.accessGrant, subjectId, details: details ?? null });

  const maxDays = () => Number(strapi.config.get('plugin::id-vault.grantMaxDays'));

  return {
    /** The longest grant this server allows (config, at most GRANT_MAX_DAYS_LIMIT). */
    maxDays,
    chainHasHead,

    async list(user: { id: number }, canApprove: boolean) {
      const rows = await q().findMany({ where: canApprove ? {} : { requester: { id: user.id } }, populate: POPULATE, orderBy: { id: 'desc' } });
      const now = new Date();
      return Promise.all(rows.map((g: any) => present(g, now)));
    },

    async request(user: { id: number }, body: unknown) {
      const parsed = grantRequestSchema(maxDays()).safeParse(body);
      if (!parsed.success) {
        await record('request', 'rejected', null);
        throw badRequest(parsed.error);
      }
      const r = parsed.data;
      let orgUnit: any = null;
      if (r.orgUnit) {
        orgUnit = await strapi.db.query(UIDS.orgUnit).findOne({ where: { documentId: r.orgUnit }, select: ['id'] });
        if (!orgUnit) throw new errors.ValidationError('orgUnit: no such org unit');
      }
      const customers = [...new Set(r.customers ?? [])];
      if (customers.length) {
        // One may ask for access to customers one cannot see (that is the point); whether they exist is
        // all this answers, and only to holders of the request permission.
        const found = await asSystem(() => strapi.db.query(UIDS.customer).count({ where: { documentId: { $in: customers } } }));
        if (found !== customers.length) throw new errors.ValidationError('customers: some of these customers do not exist');
      }
      const created = await q().create({
        data: {
          requester: user.id,
          customers: customers.length ? customers : null,
          orgUnit: orgUnit?.id ?? null,
          actions: [...new Set(r.actions)],
          reason: r.reason,
          days: r.days,
          state: 'pending',
        },
      });
      await record('request', 'success', created.documentId, { actions: r.actions, days: r.days, customers: customers.length, orgUnit: !!orgUnit });
      return present(await load(created.documentId));
    },

    async approve(user: { id: number; roles?: Array<{ code: string }> }, documentId: string) {
      const g = await load(documentId);
      const requesterUnits = g.requester ? await adminUnits(g.requester.id, 'members') : [];
      // The department head: a head of the requester's unit or of any unit above it.
      const headed = await adminUnits(user.id, 'heads', true);
      const decision = nextApproval(
        {
          state: g.state,
          requesterId: g.requester?.id ?? -1,
          headApproverId: g.headApprover?.id ?? null,
          archiveApproverId: g.archiveApprover?.id ?? null,
          expiresAt: g.expiresAt,
        },
        {
          id: user.id,
          isHead: headed.some((u) => requesterUnits.includes(u)),
          isArchiveAdmin: (user.roles ?? []).some((r) => r.code === ARCHIVE_ADMIN_ROLE),
        }
      );
      if ('refused' in decision) {
        await record('approve', 'denied', documentId, { reason: decision.refused });
        throw new errors.PolicyError(decision.refused);
      }
      const data: Record<string, unknown> = decision.slot === 'head' ? { headApprover: user.id } : { archiveApprover: user.id };
      const complete = decision.slot === 'head' ? !!g.archiveApprover : !!g.headApprover;
      if (complete) {
        const now = new Date();
        Object.assign(data, { state: 'approved', approvedAt: now, expiresAt: new Date(now.getTime() + g.days * DAY_MS) });
      }
      await q().update({ where: { id: g.id }, data });
      await record('approve', 'success', documentId, { as: decision.slot, inForce: complete });
      return present(await load(documentId));
    },

    async decide(user: { id: number }, documentId: string, verb: 'reject' | 'revoke', canApprove: boolean) {
      const g = await load(documentId);
      const allowed = verb === 'reject' ? g.state === 'pending' : g.state === 'pending' || g.state === 'approved';
      const mayAct = canApprove || (verb === 'revoke' && g.requester?.id === user.id);
      if (!allowed || !mayAct) {
        const why = !mayAct ? `you may not ${verb} this request` : `the request is ${grantStatus(g, new Date())}`;
        await record(verb, 'denied', documentId, { reason: why });
        throw new errors.PolicyError(why);
      }
      await q().update({ where: { id: g.id }, data: { state: verb === 'reject' ? 'rejected' : 'revoked', decidedBy: user.id, decidedAt: new Date() } });
      await record(verb, 'success', documentId);
      return present(await load(documentId));
    },

    /** The grant in force now that lets an admin user do `action` to a customer, if any. */
    async activeFor(userId: number, customer: { documentId: string; teamId: number | null }, action: GrantAction) {
      for (const g of await inForce(userId, [action])) {
        if (Array.isArray(g.customers) && g.customers.includes(customer.documentId)) return g;
        if (g.orgUnit && customer.teamId !== null && (await accessService().units({ id: g.orgUnit.id }, true)).includes(customer.teamId)) return g;
      }
      return null;
    },

    /** What the admin user's grants in force for any of `actions` cover: customers, and org units with every unit below. */
    coverage(userId: number, actions: readonly GrantAction[]): Promise<{ documentIds: string[]; units: number[] }> {
      return oncePerRequest(strapi, `coverage:${userId}:${actions.join()}`, async () => {
        const grantsNow = await inForce(userId, actions);
        const heads = grantsNow.filter((g) => g.orgUnit).map((g) => g.orgUnit.id);
        return {
          documentIds: [...new Set(grantsNow.flatMap((g) => (Array.isArray(g.customers) ? (g.customers as string[]) : [])))],
          units: heads.length ? await accessService().units({ id: { $in: heads } }, true) : [],
        };
      });
    },

    /**
     * Whether the admin may reveal this customer now (the edit view shows its Reveal buttons only then): the
     * `customer.reveal` action or an active reveal grant covering it, on a customer the admin can read.
     */
    async mayReveal(access: Access, documentId: string): Promise<boolean> {
      const where = and({ documentId }, await accessService().rowFilter(UIDS.customer, access, 'read'));
      const row = await asSystem(() => strapi.db.query(UIDS.customer).findOne({ where, select: ['id'], populate: { team: { select: ['id'] } } }));
      if (!row) return false;
      // A suspended account's reveal would be refused: no Reveal button either.
      if (await getService(strapi, 'anomalies').suspension(access.caller)) return false;
      if (access.can('customer.reveal')) return true;
      return access.caller.kind === 'admin' && !!(await this.activeFor(Number(access.caller.id), { documentId, teamId: row.team?.id ?? null }, 'reveal'));
    },

    /**
     * The reveal act: plaintext of the asked fields, for a customer the caller can read. Admins need the
     * `customer.reveal` action or an active grant; content-API callers reach it only with the route's
     * permission. A field hidden from the caller is refused as if it did not exist.
     */
    async reveal(access: Access, documentId: string, body: unknown) {
      const parsed = revealSchema.safeParse(body);
      if (!parsed.success) {
        await audit().record({ action: 'customer.reveal', outcome: 'rejected', subjectUid: UIDS.customer, subjectId: documentId });
        throw badRequest(parsed.error);
      }
      const { fields, reason } = parsed.data;
      // An open anomaly alert of the caller suspends reveals, whatever their permission or grants.
      const suspended = await getService(strapi, 'anomalies').suspension(access.caller);
      if (suspended) {
        await audit().record({ action: 'customer.reveal', outcome: 'denied', subjectUid: UIDS.customer, subjectId: documentId, fields, details: { reason: 'suspended' } });
        throw new errors.PolicyError(suspensionMessage(suspended));
      }
      const encrypted = getService(strapi, 'fields');
      for (const f of fields) {
        if (!encrypted.find(UIDS.customer, f) || access.visibility(UIDS.customer, f) === 'hidden') {
          throw new errors.ValidationError(`Invalid key ${f}`, { key: f });
        }
      }
      // The caller's rows: admins' from their Content Manager read permission (RBAC conditions), API callers' from the policy.
      const where = and({ documentId }, await accessService().rowFilter(UIDS.customer, access, 'read'));
      const row = await asSystem(() => strapi.db.query(UIDS.customer).findOne({ where, select: ['id', 'documentId'], populate: { team: { select: ['id'] } } }));
      if (!row) throw new errors.NotFoundError('Not Found');
      let grant: any = null;
      if (access.caller.kind === 'admin' && !access.can('customer.reveal')) {
        grant = await this.activeFor(Number(access.caller.id), { documentId, teamId: row.team?.id ?? null }, 'reveal');
        if (!grant) {
          await audit().record({ action: 'customer.reveal', outcome: 'denied', subjectUid: UIDS.customer, subjectId: documentId, fields });
          throw new errors.PolicyError('revealing needs the "Reveal encrypted fields" permission or an active access grant');
        }
      }
      const current = await getService(strapi, 'vault').currentOf(UIDS.customer, documentId);
      const values = Object.fromEntries(fields.map((f) => [f, current?.[f] ?? null]));
      await audit().record({
        action: 'customer.reveal',
        outcome: 'success',
        subjectUid: UIDS.customer,
        subjectId: documentId,
        fields,
        details: { reason, grant: grant?.documentId ?? null },
      });
      return { documentId, values };
    },
  };
};

export type GrantsService = ReturnType<typeof grants>;
export default grants;
