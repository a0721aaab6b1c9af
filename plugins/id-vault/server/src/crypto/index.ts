export * from './errors';
export * from './kdf';
export * from './aead';
export * from './keyring';
export * from './blind-index';
export * from './audit-chain';
export * from './segments';
export * from './ledger';
