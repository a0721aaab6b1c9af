export type CryptoErrorCode = 'BAD_FORMAT' | 'UNKNOWN_KEY' | 'AUTH_FAILED' | 'BAD_KEY';

/** A value or key that cannot be used. Messages never carry plaintext or key material. */
export class IdVaultCryptoError extends Error {
  constructor(public readonly code: CryptoErrorCode, message: string) {
    super(message);
    this.name = 'IdVaultCryptoError';
  }
}

/** The master key ring is missing or malformed. */
export class IdVaultConfigError extends Error {
  constructor(problem: string) {
    super(
      `id-vault: ${problem}. Run \`npm run keys:generate\` and put the printed entry into ID_VAULT_MASTER_KEYS in .env ` +
        '(comma-separated keyId:base64 entries of 32 random bytes; the first is active).'
    );
    this.name = 'IdVaultConfigError';
  }
}
