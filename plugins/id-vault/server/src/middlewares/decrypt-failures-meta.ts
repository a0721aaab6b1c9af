import { isPlainObject } from '../domain';
import type { DecryptFailure } from '../utils/caller';

/** Koa middleware: tells the caller, in `meta`, which fields could not be decrypted for this response. */
export const decryptFailuresMeta = () => async (ctx: any, next: () => Promise<void>) => {
  await next();
  const failures: DecryptFailure[] | undefined = ctx.state?.idVault?.decryptFailures;
  if (!failures?.length || !isPlainObject(ctx.body)) return;
  ctx.body.meta = { ...(ctx.body.meta ?? {}), idVault: { decryptFailures: failures } };
};
