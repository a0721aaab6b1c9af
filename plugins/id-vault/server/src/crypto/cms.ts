import { constants, createCipheriv, publicEncrypt, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { Transform } from 'node:stream';
import forge from 'node-forge';

/**
 * Exports encrypted to an integrator's X.509 certificate, as CMS AuthEnvelopedData (RFC 5083, AES-256-GCM
 * per RFC 5084) that `openssl cms -decrypt -inform DER -recip cert.pem -inkey key.pem` opens (OpenSSL 3). Pure: node:crypto and node-forge.
 *
 * node:crypto reads the certificate (validity, fingerprint, key type and size — forge cannot read a
 * non-RSA certificate at all) and does all encryption; forge walks and writes the ASN.1 of the fixed header
 * parts. forge's own EnvelopedData is not used: it holds the whole content in memory (≈1 GB at 50 MB) and a
 * second `toAsn1()` drops the IV. Here the content streams: the header is written in BER with indefinite
 * lengths, then each chunk `createCipheriv` produces becomes one primitive OCTET STRING of the constructed
 * encryptedContent, then the end-of-contents octets and the tag — memory stays at one chunk whatever the size.
 */

export const MIN_RSA_BITS = 2048;

export type CertificateRefusal = 'not-pem' | 'not-certificate' | 'several-certificates' | 'not-rsa' | 'key-too-small' | 'expired' | 'not-yet-valid';

const REASONS: Record<CertificateRefusal, string> = {
  'not-pem': 'not a PEM file: expected one -----BEGIN CERTIFICATE----- block',
  'not-certificate': 'not an X.509 certificate',
  'several-certificates': 'exactly one certificate is expected, and nothing else (no chain, no private key)',
  'not-rsa': 'the certificate does not hold an RSA key',
  'key-too-small': `the certificate's RSA key is shorter than ${MIN_RSA_BITS} bits`,
  expired: 'the certificate has expired',
  'not-yet-valid': 'the certificate is not valid yet',
};

/** A certificate that cannot be an export recipient; `reason` says why (the message never quotes the input). */
export class RecipientCertificateError extends Error {
  constructor(readonly reason: CertificateRefusal) {
    super(REASONS[reason]);
    this.name = 'RecipientCertificateError';
  }
}

export interface RecipientCertificate {
  /** The subject, RFC 2253 style (most specific RDN first: `CN=…,O=…,C=…`). */
  subject: string;
  /** SHA-256 of the DER, upper-case hex pairs joined by colons — what `openssl x509 -noout -fingerprint -sha256` prints. */
  fingerprintSha256: string;
  notBefore: Date;
  notAfter: Date;
  keyBits: number;
  /** The certificate's key, for the key transport. */
  publicKey: KeyObject;
  /** DER of the IssuerAndSerialNumber that names this certificate in a KeyTransRecipientInfo. */
  issuerAndSerial: Buffer;
  /** The certificate alone, re-armoured: what is kept (nothing else the file held). */
  pem: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** The one CERTIFICATE block's DER, or a refusal. Anything else in the file (a chain, a key) is refused, never kept. */
const singleCertificateDer = (pem: string): Buffer => {
  const blocks = [...pem.matchAll(PEM_BLOCK)];
  if (!blocks.length) throw new RecipientCertificateError('not-pem');
  if (blocks.length > 1) throw new RecipientCertificateError('several-certificates');
  const [, label, body] = blocks[0];
  if (label !== 'CERTIFICATE') throw new RecipientCertificateError('not-certificate');
  const b64 = body.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new RecipientCertificateError('not-certificate');
  return Buffer.from(b64, 'base64');
};

const asn1FromDer = (der: Buffer): forge.asn1.Asn1 => forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')), { strict: true } as any);
const toDer = (node: forge.asn1.Asn1): Buffer => Buffer.from(forge.asn1.toDer(node).getBytes(), 'binary');

/** Short names RFC 4514 knows (and emailAddress, as OpenSSL prints it); other attributes are shown by OID. */
const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

const escapeRdnValue = (v: string) => v.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`).replace(/^[ #]/, (c) => `\\${c}`).replace(/ $/, '\\ ');

/** RFC 2253 order (last RDN first), multi-valued RDNs joined by `+`. */
const formatName = (name: forge.asn1.Asn1): string =>
  (name.value as forge.asn1.Asn1[])
    .map((rdn) =>
      (rdn.value as forge.asn1.Asn1[])
        .map((atv) => {
          const [type, value] = atv.value as forge.asn1.Asn1[];
          const oid = forge.asn1.derToOid(type.value as string);
          const raw = value.value as string;
          // BMPString is UTF-16BE; the others used in names are UTF-8 or its ASCII subsets.
          const text = value.type === forge.asn1.Type.BMPSTRING ? Buffer.from(raw, 'binary').swap16().toString('utf16le') : Buffer.from(raw, 'binary').toString('utf8');
          return `${SHORT_NAMES[oid] ?? oid}=${escapeRdnValue(text)}`;
        })
        .join('+')
    )
    .reverse()
    .join(',');

/** tbsCertificate's issuer and serialNumber (as encoded there, byte for byte) and its subject. */
const tbsParts = (der: Buffer) => {
  const cert = asn1FromDer(der);
  const tbs = (cert.value as forge.asn1.Asn1[])[0];
  const fields = tbs.value as forge.asn1.Asn1[];
  // version is [0] EXPLICIT and optional (absent: v1)
  const at = fields[0].tagClass === forge.asn1.Class.CONTEXT_SPECIFIC ? 1 : 0;
  const [serial, , issuer, , subject] = fields.slice(at);
  return { serial, issuer, subject };
};

/**
 * Reads and checks a recipient's certificate at `now`: exactly one PEM certificate, an RSA key of at least
 * 2048 bits, valid at `now`. Throws a RecipientCertificateError naming the first problem.
 */
export const parseRecipientCertificate = (pem: string, now: Date): RecipientCertificate => {
  const der = singleCertificateDer(typeof pem === 'string' ? pem : '');
  let x509: X509Certificate;
  let parts: ReturnType<typeof tbsParts>;
  try {
    x509 = new X509Certificate(der);
    parts = tbsParts(der);
  } catch {
    throw new RecipientCertificateError('not-certificate');
  }
  const publicKey = x509.publicKey;
  if (publicKey.asymmetricKeyType !== 'rsa') throw new RecipientCertificateError('not-rsa');
  const keyBits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (keyBits < MIN_RSA_BITS) throw new RecipientCertificateError('key-too-small');
  const notBefore = new Date(x509.validFrom);
  const notAfter = new Date(x509.validTo);
  if (now.getTime() > notAfter.getTime()) throw new RecipientCertificateError('expired');
  if (now.getTime() < notBefore.getTime()) throw new RecipientCertificateError('not-yet-valid');
  const { asn1 } = forge;
  const issuerAndSerial = toDer(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [parts.issuer, parts.serial]));
  const pemOut = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
  return { subject: formatName(parts.subject), fingerprintSha256: x509.fingerprint256, notBefore, notAfter, keyBits, publicKey, issuerAndSerial, pem: pemOut };
};

// --- the AuthEnvelopedData writer -------------------------------------------------------------------

const OID = {
  authEnvelopedData: '1.2.840.113549.1.9.16.1.23',
  data: '1.2.840.113549.1.7.1',
  rsaesOaep: '1.2.840.113549.1.1.7',
  mgf1: '1.2.840.113549.1.1.8',
  sha256: '2.16.840.1.101.3.4.2.1',
  aes256Gcm: '2.16.840.1.101.3.4.1.46',
};

/** GCM's nonce and tag lengths (RFC 5084: a 12-byte nonce; the tag length is written, 16 bytes). */
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

const tlv = {
  seq: (...items: forge.asn1.Asn1[]) => forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, items),
  set: (...items: forge.asn1.Asn1[]) => forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SET, true, items),
  oid: (oid: string) => forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.OID, false, forge.asn1.oidToDer(oid).getBytes()),
  int: (n: number) => forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.INTEGER, false, forge.asn1.integerToDer(n).getBytes()),
  octets: (b: Buffer) => forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.OCTETSTRING, false, b.toString('binary')),
  explicit: (tag: number, item: forge.asn1.Asn1) => forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, tag, true, [item]),
  raw: (b: Buffer) => asn1FromDer(b),
};

/** BER: a constructed value of indefinite length opens with its tag and 0x80, and closes with end-of-contents. */
const INDEFINITE = { sequence: Buffer.from([0x30, 0x80]), context0: Buffer.from([0xa0, 0x80]) };
const END_OF_CONTENTS = Buffer.from([0x00, 0x00]);

/** DER length octets (short form below 128, else long form). */
const lengthOctets = (n: number): Buffer => {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
};

/** One primitive OCTET STRING segment of the constructed encryptedContent. */
const octetSegment = (chunk: Buffer): Buffer => Buffer.concat([Buffer.from([0x04]), lengthOctets(chunk.length), chunk]);

/**
 * RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 4055; the hash AlgorithmIdentifiers without parameters,
 * as OpenSSL writes them); pSourceFunc is the default (empty label), so omitted.
 */
const oaepSha256 = () => {
  const sha256 = tlv.seq(tlv.oid(OID.sha256));
  return tlv.seq(tlv.oid(OID.rsaesOaep), tlv.seq(tlv.explicit(0, sha256), tlv.explicit(1, tlv.seq(tlv.oid(OID.mgf1), sha256))));
};

/**
 * Everything before the first encrypted byte: ContentInfo → [0] → AuthEnvelopedData (RFC 5083; version 0:
 * no originatorInfo, no authAttrs, one version-0 KeyTransRecipientInfo naming the certificate by issuer and
 * serial) → EncryptedContentInfo (id-data, id-aes256-GCM with its nonce and a 16-byte tag, RFC 5084) → the
 * opening of encryptedContent, [0] IMPLICIT OCTET STRING, constructed with indefinite length.
 */
const header = (recipient: RecipientCertificate, key: Buffer, nonce: Buffer): Buffer => {
  const encryptedKey = publicEncrypt({ key: recipient.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, key);
  const recipientInfos = tlv.set(tlv.seq(tlv.int(0), tlv.raw(recipient.issuerAndSerial), oaepSha256(), tlv.octets(encryptedKey)));
  const contentEncryption = tlv.seq(tlv.oid(OID.aes256Gcm), tlv.seq(tlv.octets(nonce), tlv.int(TAG_BYTES)));
  return Buffer.concat([
    INDEFINITE.sequence, // ContentInfo
    toDer(tlv.oid(OID.authEnvelopedData)),
    INDEFINITE.context0, // content [0] EXPLICIT
    INDEFINITE.sequence, // AuthEnvelopedData
    toDer(tlv.int(0)),
    toDer(recipientInfos),
    INDEFINITE.sequence, // authEncryptedContentInfo
    toDer(tlv.oid(OID.data)),
    toDer(contentEncryption),
    INDEFINITE.context0, // encryptedContent [0] IMPLICIT OCTET STRING, constructed
  ]);
};

/** After the content: encryptedContent and EncryptedContentInfo closed, the mac (GCM's tag), then AuthEnvelopedData, [0], ContentInfo closed. */
const trailer = (tag: Buffer): Buffer => Buffer.concat([END_OF_CONTENTS, END_OF_CONTENTS, toDer(tlv.octets(tag)), END_OF_CONTENTS, END_OF_CONTENTS, END_OF_CONTENTS]);

/**
 * A Transform that turns the bytes written to it into one CMS ContentInfo(AuthEnvelopedData) for
 * `recipient`: a fresh random 256-bit content key and nonce per stream, the key sent with RSAES-OAEP
 * (SHA-256), the content sealed with AES-256-GCM, so a changed, cut or spliced file does not decrypt.
 * Validity is the caller's to check (parseRecipientCertificate at the time of the export).
 */
export const createEnvelopedStream = (recipient: RecipientCertificate): Transform => {
  const key = randomBytes(32);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  const head = header(recipient, key, nonce);
  key.fill(0);
  let started = false;
  const start = (t: Transform) => {
    if (!started) t.push(head);
    started = true;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      start(this);
      const out = cipher.update(chunk);
      if (out.length) this.push(octetSegment(out));
      done();
    },
    flush(done) {
      start(this);
      const last = cipher.final();
      this.push(Buffer.concat([...(last.length ? [octetSegment(last)] : []), trailer(cipher.getAuthTag())]));
      done();
    },
  });
};

/** What an encrypted export is sent as, and its file name's suffix. */
export const CMS_CONTENT_TYPE = 'application/pkcs7-mime; smime-type=authEnveloped-data';
export const CMS_FILE_SUFFIX = '.p7m';
