'use strict';
/**
 * Field encryption with node:crypto (what id-vault uses) against node-forge's pure-JS AES-GCM doing the
 * same work (same key size, IV size, AAD, tag), measured in the same process, interleaved.
 */
const forge = require('node-forge');
const { randomBytes } = require('crypto');
const { median } = require('./stats');

module.exports = (cryptoCore) => {
  const key = { id: 'bench', key: randomBytes(32) };
  const ctx = { uid: 'plugin::id-vault.customer', documentId: 'benchdocument0000000000a', field: 'idNumber' };
  const aad = ['idv1', key.id, ctx.uid, ctx.documentId, ctx.field].join('\u0000');
  const plain = '11010519491231002X';
  const N = 5000;

  const nodeEncrypt = () => { for (let i = 0; i < N; i += 1) cryptoCore.encryptField(plain, key, ctx); };
  const token = cryptoCore.encryptField(plain, key, ctx);
  const nodeDecrypt = () => { for (let i = 0; i < N; i += 1) cryptoCore.decryptField(token, () => key.key, ctx); };

  const forgeKey = forge.util.createBuffer(key.key.toString('binary'));
  const forgeEncryptOne = () => {
    const c = forge.cipher.createCipher('AES-GCM', forgeKey.copy());
    const iv = forge.random.getBytesSync(12);
    c.start({ iv, additionalData: aad, tagLength: 128 });
    c.update(forge.util.createBuffer(forge.util.encodeUtf8(plain)));
    c.finish();
    return { iv, ct: c.output.getBytes(), tag: c.mode.tag.getBytes() };
  };
  const sample = forgeEncryptOne();
  const forgeEncrypt = () => { for (let i = 0; i < N; i += 1) forgeEncryptOne(); };
  const forgeDecrypt = () => {
    for (let i = 0; i < N; i += 1) {
      const d = forge.cipher.createDecipher('AES-GCM', forgeKey.copy());
      d.start({ iv: sample.iv, additionalData: aad, tagLength: 128, tag: forge.util.createBuffer(sample.tag) });
      d.update(forge.util.createBuffer(sample.ct));
      if (!d.finish()) throw new Error('forge decrypt failed');
    }
  };

  const time = (fn) => { const t0 = process.hrtime.bigint(); fn(); return Number(process.hrtime.bigint() - t0) / 1e9; };
  const rounds = { ne: [], nd: [], fe: [], fd: [] };
  for (let r = 0; r < 7; r += 1) {
    rounds.ne.push(time(nodeEncrypt));
    rounds.fe.push(time(forgeEncrypt));
    rounds.nd.push(time(nodeDecrypt));
    rounds.fd.push(time(forgeDecrypt));
  }
  const ops = (xs) => N / median(xs.slice(2)); // first two rounds are warm-up
  const r = { nodeEncrypt: ops(rounds.ne), nodeDecrypt: ops(rounds.nd), forgeEncrypt: ops(rounds.fe), forgeDecrypt: ops(rounds.fd) };
  return { ...r, encryptRatio: r.nodeEncrypt / r.forgeEncrypt, decryptRatio: r.nodeDecrypt / r.forgeDecrypt };
};
