import type { Core } from '@strapi/strapi';
import { getService, ACTIONS } from '../utils/strapi';

/** The admin panel's own routes (`/id-vault/...`, admin JWT); permissions are checked by route policies too. */
export default ({ strapi }: { strapi: Core.Strapi }) => {
  const access = () => getService(strapi, 'access');
  const grants = () => getService(strapi, 'grants');
  const canApprove = (ctx: any) => !!ctx.state.userAbility?.can(ACTIONS['grant.approve']);

  return {
    async getAccessPolicy(ctx: any) {
      ctx.body = { data: await access().describe() };
    },
    async putAccessPolicy(ctx: any) {
      ctx.body = { data: await access().save(ctx.request.body?.policy) };
    },
    async reveal(ctx: any) {
      ctx.body = { data: await grants().reveal(await access().current(), ctx.params.documentId, ctx.request.body) };
    },
    async listGrants(ctx: any) {
      ctx.body = { data: await grants().list(ctx.state.user, canApprove(ctx)), meta: { maxDays: grants().maxDays() } };
    },
    async requestGrant(ctx: any) {
      ctx.body = { data: await grants().request(ctx.state.user, ctx.request.body) };
    },
    async approveGrant(ctx: any) {
      ctx.body = { data: await grants().approve(ctx.state.user, ctx.params.documentId) };
    },
    async rejectGrant(ctx: any) {
      ctx.body = { data: await grants().decide(ctx.state.user, ctx.params.documentId, 'reject', canApprove(ctx)) };
    },
    async revokeGrant(ctx: any) {
      ctx.body = { data: await grants().decide(ctx.state.user, ctx.params.documentId, 'revoke', canApprove(ctx)) };
    },
  };
};
