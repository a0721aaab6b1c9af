import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  createEnvelopedStream,
  parseRecipientCertificate,
  RecipientCertificateError,
  type CertificateRefusal,
} from '../../../plugins/id-vault/server/src/crypto/cms';
import { makeCertificate, opensslDir, type TestCertificate } from '../../helpers/certificates';

const DAY = 86_400_000;
const now = new Date();
const tmp = opensslDir();
let cert: TestCertificate;

beforeAll(() => {
  cert = makeCertificate({ cn: 'exports.example.test' });
});
afterAll(() => tmp.remove());

/** Encrypts `chunks` through the stream, as an export pipes them. */
const envelope = async (chunks: Buffer[], c: TestCertificate = cert): Promise<Buffer> => {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), createEnvelopedStream(parseRecipientCertificate(c.certPem, now)), async function* (src) {
    for await (const b of src) out.push(b as Buffer);
  });
  return Buffer.concat(out);
};

const refusal = (pem: string, at: Date = now): CertificateRefusal => {
  try {
    parseRecipientCertificate(pem, at);
  } catch (e) {
    expect(e).toBeInstanceOf(RecipientCertificateError);
    return (e as RecipientCertificateError).reason;
  }
  throw new Error('expected a refusal');
};

describe('parseRecipientCertificate', () => {
  it('reads subject (RFC 2253 order), fingerprint as openssl prints it, validity and key size', () => {
    const c = makeCertificate({ cn: 'Team, "Exports"', bits: 3072 });
    const r = parseRecipientCertificate(`\n${c.certPem}\n`, now);
    const x = new X509Certificate(c.certPem);
    expect(r.subject).toBe('CN=Team\\, \\"Exports\\",O=Example Integrator Ltd,C=CN');
    expect(r.fingerprintSha256).toBe(createHash('sha256').update(x.raw).digest('hex').toUpperCase().match(/../g)!.join(':'));
    expect(r.notBefore.toISOString()).toBe(new Date(x.validFrom).toISOString());
    expect(r.notAfter.toISOString()).toBe(new Date(x.validTo).toISOString());
    expect(r.keyBits).toBe(3072);
  });

  it('keeps the certificate alone: text around the block is dropped, the re-armoured PEM reads the same', () => {
    const r = parseRecipientCertificate(`Bag Attributes\n    friendlyName: exports\n${cert.certPem}`, now);
    expect(r.pem).toBe(cert.certPem.replace(/\r\n/g, '\n'));
    expect(r.pem.match(/-----BEGIN /g)).toHaveLength(1);
    expect(parseRecipientCertificate(r.pem, now).fingerprintSha256).toBe(r.fingerprintSha256);
  });

  it('refuses what cannot be a recipient, naming why', () => {
    const body = cert.certPem.split('\n').slice(1, -2).join('\n');
    expect(refusal('')).toBe('not-pem');
    expect(refusal('hello, this is not a certificate')).toBe('not-pem');
    expect(refusal(randomBytes(600).toString('base64'))).toBe('not-pem');
    expect(refusal('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).toBe('not-certificate');
    expect(refusal(`-----BEGIN CERTIFICATE-----\n${body.slice(0, 200)}\n-----END CERTIFICATE-----\n`)).toBe('not-certificate');
    expect(refusal(cert.keyPem)).toBe('not-certificate'); // a private key is not kept, whatever else
    expect(refusal(cert.certPem + cert.keyPem)).toBe('several-certificates');
    expect(refusal(cert.certPem + makeCertificate().certPem)).toBe('several-certificates');
    expect(refusal(tmp.ecCertificate())).toBe('not-rsa');
    expect(refusal(makeCertificate({ bits: 1024 }).certPem)).toBe('key-too-small');
    expect(refusal(makeCertificate({ notBefore: new Date(now.getTime() - 30 * DAY), notAfter: new Date(now.getTime() - DAY) }).certPem)).toBe('expired');
    expect(refusal(makeCertificate({ notBefore: new Date(now.getTime() + DAY), notAfter: new Date(now.getTime() + 30 * DAY) }).certPem)).toBe('not-yet-valid');
    // Validity is judged at the `now` given: the same certificate, a year and a day on.
    expect(refusal(cert.certPem, new Date(now.getTime() + 367 * DAY))).toBe('expired');
  });

  it('never quotes the input in its message', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nU0VDUkVU\n-----END CERTIFICATE-----';
    expect(refusal(pem)).toBe('not-certificate');
    expect(() => parseRecipientCertificate(pem, now)).toThrow(/^not an X\.509 certificate$/);
  });
});

describe('createEnvelopedStream → openssl cms -decrypt', () => {
  const MiB = 1024 * 1024;
  it.each([
    ['0 bytes', 0, 1],
    ['1 byte', 1, 1],
    ['16 bytes (one AES block)', 16, 1],
    ['64 KiB - 1', 64 * 1024 - 1, 1],
    ['64 KiB', 64 * 1024, 1],
    ['64 KiB + 1', 64 * 1024 + 1, 1],
    ['3 MiB + 5 in many odd chunks', 3 * MiB + 5, 997],
  ])('%s', async (_label, size, chunkCount) => {
    const plain = randomBytes(size);
    const step = Math.ceil(size / chunkCount) || 1;
    const chunks = size === 0 ? [] : Array.from({ length: Math.ceil(size / step) }, (_, i) => plain.subarray(i * step, (i + 1) * step));
    const cms = await envelope(chunks);
    const r = tmp.decrypt(cms, cert);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.equals(plain)).toBe(true);
  });

  it('writes AuthEnvelopedData version 0, one recipient by issuer and serial, RSAES-OAEP with SHA-256 and MGF1-SHA-256, aes-256-gcm with a 16-byte tag', async () => {
    const printed = tmp.print(await envelope([Buffer.from('a,b\r\n1,2\r\n')]));
    const x = new X509Certificate(cert.certPem);
    expect(printed).toMatch(/contentType: id-smime-ct-authEnvelopedData/);
    expect(printed).toMatch(/version: 0/);
    expect(printed).toMatch(/d\.ktri:\s*\n\s*version: 0/);
    expect(printed).toMatch(/issuer: C=CN, O=Example Integrator Ltd, CN=exports.example.test/);
    expect(printed).toContain(`serialNumber: ${BigInt(`0x${x.serialNumber}`)}`);
    expect(printed).toMatch(/algorithm: rsaesOaep/);
    // The OAEP parameters as openssl dumps them: [0] hashFunc sha256, [1] maskGenFunc mgf1(sha256), no pSource.
    expect(printed).toMatch(/cont \[ 0 \][^\n]*\n[^\n]*SEQUENCE[^\n]*\n[^\n]*OBJECT\s*:sha256\n[^\n]*cont \[ 1 \][^\n]*\n[^\n]*SEQUENCE[^\n]*\n[^\n]*OBJECT\s*:mgf1\n[^\n]*SEQUENCE[^\n]*\n[^\n]*OBJECT\s*:sha256\n/);
    expect(printed).not.toMatch(/cont \[ 2 \]/);
    expect(printed).toMatch(/contentEncryptionAlgorithm:\s*\n\s*algorithm: aes-256-gcm/);
    // GCMParameters: a 12-byte nonce and the tag length, 16 (0x10); the tag is the mac.
    expect(printed).toMatch(/OCTET STRING\s+\[HEX DUMP\]:[0-9A-F]{24}\n[^\n]*INTEGER\s+:10\n/);
    expect(printed).toMatch(/mac:\s*\n\s*0000 - ([0-9a-f]{2}[ -]){16}/);
    expect(printed).toMatch(/authAttrs:\s*\n\s*<ABSENT>/);
  });

  it('is authenticated: a changed byte of the content or the tag, or a cut file, does not decrypt', async () => {
    const plain = randomBytes(70 * 1024);
    const cms = await envelope([plain]);
    expect(tmp.decrypt(cms, cert).stdout.equals(plain)).toBe(true);
    // The last 28 bytes: end-of-contents ×2, the mac (2 + 16), end-of-contents ×3; before them, ciphertext.
    for (const fromEnd of [28 + 100, 28 + 1, 10]) {
      const bad = Buffer.from(cms);
      bad[bad.length - fromEnd] ^= 0x01;
      expect(tmp.decrypt(bad, cert).status).not.toBe(0);
    }
    expect(tmp.decrypt(cms.subarray(0, cms.length - 20), cert).status).not.toBe(0);
    expect(tmp.decrypt(cms.subarray(0, cms.length - 1000), cert).status).not.toBe(0);
  });

  it('streams: the envelope grows while the content is still being written', async () => {
    const enc = createEnvelopedStream(parseRecipientCertificate(cert.certPem, now));
    const seen: Buffer[] = [];
    enc.on('data', (b: Buffer) => seen.push(b));
    enc.write(randomBytes(256 * 1024));
    await new Promise((r) => setImmediate(r));
    // The header and the first quarter MiB are out before the end is written.
    expect(Buffer.concat(seen).length).toBeGreaterThan(256 * 1024);
    const done = new Promise((r) => enc.on('end', r));
    enc.end();
    await done;
  });

  it('uses a fresh key per stream: the same content twice gives different envelopes, each opened only by its key', async () => {
    const plain = Buffer.from('same content');
    const [a, b] = [await envelope([plain]), await envelope([plain])];
    expect(a.equals(b)).toBe(false);
    expect(tmp.decrypt(a, cert).stdout.equals(plain)).toBe(true);
    const other = makeCertificate();
    expect(tmp.decrypt(a, other).status).not.toBe(0);
  });
});
