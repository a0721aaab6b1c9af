import { errors } from '@strapi/utils';
import { TOKEN_STRATEGIES } from '../utils/caller';

/**
 * Content API: only an identified caller (a users-permissions account or an API token) reaches customer
 * data, even if someone ticks the Public role's boxes. Fails closed.
 */
const isIdentified = (policyContext: any) => {
  const auth = policyContext.state?.auth;
  if (TOKEN_STRATEGIES.has(auth?.strategy?.name) && auth.credentials) return true;
  if (auth?.strategy?.name === 'users-permissions' && policyContext.state?.user) return true;
  throw new errors.PolicyError('id-vault data needs an authenticated caller');
};

export default { 'is-identified': isIdentified };
