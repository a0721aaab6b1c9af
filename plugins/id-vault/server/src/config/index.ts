export interface IdVaultConfig {
  /** Bits kept of each HMAC blind index when a field does not choose its own (32, 64, 128 or 256). */
  defaultIndexBits: number;
}

const BITS = [32, 64, 128, 256];

export default {
  default: { defaultIndexBits: 64 } satisfies IdVaultConfig,
  validator(config: Partial<IdVaultConfig>) {
    if (!BITS.includes(Number(config.defaultIndexBits))) {
      throw new Error(`id-vault: defaultIndexBits must be one of ${BITS.join(', ')}`);
    }
  },
};
