import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';

/** Synthetic recipient certificates for the encrypted-export tests, and `openssl cms -decrypt`. */

export interface TestCertificate {
  certPem: string;
  keyPem: string;
}

const DAY = 86_400_000;

/** A self-signed RSA certificate (key made by node:crypto, certificate by forge: any validity window, past ones too). */
export const makeCertificate = (opts: { bits?: number; notBefore?: Date; notAfter?: Date; cn?: string } = {}): TestCertificate => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: opts.bits ?? 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string);
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = opts.notBefore ?? new Date(Date.now() - DAY);
  cert.validity.notAfter = opts.notAfter ?? new Date(Date.now() + 365 * DAY);
  const name = [
    { shortName: 'C', value: 'CN' },
    { shortName: 'O', value: 'Example Integrator Ltd' },
    { shortName: 'CN', value: opts.cn ?? 'exports.example.test' },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.sign(forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
};

/** A private temp dir for key files handed to openssl; `remove()` deletes it (call it in afterAll). */
export const opensslDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'idv-cms-'));
  let n = 0;
  const file = (content: string) => {
    const path = join(dir, `f${(n += 1)}.pem`);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };
  return {
    dir,
    /** `openssl cms -decrypt -inform DER -recip cert.pem -inkey key.pem`, the CMS on stdin, the content on stdout. */
    decrypt(cms: Buffer, c: TestCertificate): { status: number | null; stdout: Buffer; stderr: string } {
      const r = spawnSync('openssl', ['cms', '-decrypt', '-inform', 'DER', '-recip', file(c.certPem), '-inkey', file(c.keyPem)], { input: cms, maxBuffer: 1 << 30 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
    },
    /** `openssl cms -cmsout -print`: the structure as openssl reads it. */
    print(cms: Buffer): string {
      const r = spawnSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER'], { input: cms, maxBuffer: 1 << 30 });
      if (r.status !== 0) throw new Error(`openssl cms -print failed: ${r.stderr}`);
      return r.stdout.toString();
    },
    /** An EC certificate (openssl req), for the refusal of keys that are not RSA. */
    ecCertificate(): string {
      const out = join(dir, 'ec.pem');
      const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=ec.example.test', '-days', '30', '-keyout', join(dir, 'ec-key.pem'), '-out', out]);
      if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
      return require('node:fs').readFileSync(out, 'utf8');
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
};
