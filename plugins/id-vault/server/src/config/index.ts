export interface IdVaultConfig {
  /** Bits kept of each HMAC blind index when a field does not choose its own (32, 64, 128 or 256). */
  defaultIndexBits: number;
  /** Longest temporary access a request may ask for, in days (1 to GRANT_MAX_DAYS_LIMIT). */
  grantMaxDays: number;
}

import { GRANT_MAX_DAYS_LIMIT } from '../../../shared';

const BITS = [32, 64, 128, 256];

export default {
  default: { defaultIndexBits: 64, grantMaxDays: GRANT_MAX_DAYS_LIMIT } satisfies IdVaultConfig,
  validator(config: Partial<IdVaultConfig>) {
    if (!BITS.includes(Number(config.defaultIndexBits))) {
      throw new Error(`id-vault: defaultIndexBits must be one of ${BITS.join(', ')}`);
    }
    const days = Number(config.grantMaxDays);
    if (!Number.isInteger(days) || days < 1 || days > GRANT_MAX_DAYS_LIMIT) {
      throw new Error(`id-vault: grantMaxDays must be a whole number of days from 1 to ${GRANT_MAX_DAYS_LIMIT}`);
    }
  },
};
