import { fromBuffer } from 'file-type';
import JSZip from 'jszip';
import { PDFArray, PDFDict, PDFDocument, PDFName, PDFRef, PDFStream, type PDFContext, type PDFObject } from 'pdf-lib';
import sharp, { type Sharp } from 'sharp';

/**
 * Intake of identity-document scans (ID-card photos, business licences): decide the type from the bytes
 * alone, refuse anything that is not a plain scan, and strip what a scan carries besides its picture
 * (EXIF with GPS, XMP, ICC, comments; PDF and Word document properties). Pure: buffers in, buffers out,
 * nothing written to disk. Error messages name the detected type and limits only — never content or names.
 */

export type ScanKind = 'jpeg' | 'png' | 'webp' | 'pdf' | 'docx' | 'doc';

export interface IntakeLimits {
  /** Largest width × height an image may declare (checked before decoding). */
  maxPixels: number;
  /** Largest total a DOCX may unpack to, in bytes. */
  maxArchiveBytes?: number;
  /** Most entries a DOCX may hold. */
  maxArchiveEntries?: number;
}

export type IntakeCode = 'UNSUPPORTED_TYPE' | 'EMPTY' | 'POLYGLOT' | 'CORRUPT' | 'TOO_MANY_PIXELS' | 'ENCRYPTED' | 'ARCHIVE_LIMIT';

/** A refused upload: 415 for a type we do not take, 422 for an accepted type we cannot take as it is. */
export class IntakeError extends Error {
  constructor(
    readonly status: 415 | 422,
    readonly code: IntakeCode,
    /** The detected type (a MIME type), null when nothing was recognised. */
    readonly detected: string | null,
    message: string
  ) {
    super(message);
    this.name = 'IntakeError';
  }
}

interface ScanType {
  kind: ScanKind;
  mime: string;
  ext: string;
}

type ImageKind = 'jpeg' | 'png' | 'webp';

export interface CleanedScan extends ScanType {
  bytes: Buffer;
  cleaned: boolean;
  width?: number;
  height?: number;
}

const MB = 1024 * 1024;
const DEFAULTS: Required<IntakeLimits> = { maxPixels: 50_000_000, maxArchiveBytes: 100 * MB, maxArchiveEntries: 2000 };

const TYPES: Record<ScanKind, ScanType> = {
  jpeg: { kind: 'jpeg', mime: 'image/jpeg', ext: 'jpg' },
  png: { kind: 'png', mime: 'image/png', ext: 'png' },
  webp: { kind: 'webp', mime: 'image/webp', ext: 'webp' },
  pdf: { kind: 'pdf', mime: 'application/pdf', ext: 'pdf' },
  docx: { kind: 'docx', mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', ext: 'docx' },
  doc: { kind: 'doc', mime: 'application/msword', ext: 'doc' },
};
/** file-type extensions we take as they are; ZIP and CFB containers need a look inside first. */
const DIRECT: Partial<Record<string, ScanKind>> = { jpg: 'jpeg', png: 'png', webp: 'webp', pdf: 'pdf' };

// Libvips keeps decoded images in a process-wide cache; scans must not outlive their request in memory.
sharp.cache(false);

// ---------------------------------------------------------------------------------------------------
// Refusals

const ACCEPTED = 'Upload a JPEG, PNG or WebP image, a PDF, or a Word document (.docx or .doc).';

const unsupported = (detected: string | null) =>
  new IntakeError(415, 'UNSUPPORTED_TYPE', detected, `This file type is not accepted (detected: ${detected ?? 'unknown'}). ${ACCEPTED}`);
const empty = () => new IntakeError(422, 'EMPTY', null, 'The file is empty.');
const polyglot = (mime: string) =>
  new IntakeError(
    422,
    'POLYGLOT',
    mime,
    `The file is ${mime} but carries data that is not part of it, so it may be disguising another file. Save or scan it again and upload the new copy.`
  );
const corrupt = (mime: string) => new IntakeError(422, 'CORRUPT', mime, `The ${mime} file is damaged or incomplete and cannot be read.`);
const tooManyPixels = (mime: string, max: number) =>
  new IntakeError(422, 'TOO_MANY_PIXELS', mime, `The ${mime} image has more than ${max} pixels. Scan it at a lower resolution.`);
const encrypted = () =>
  new IntakeError(422, 'ENCRYPTED', TYPES.pdf.mime, 'The application/pdf file is password-protected. Upload a copy without a password.');
const archiveLimit = (mime: string, limits: Required<IntakeLimits>) =>
  new IntakeError(
    422,
    'ARCHIVE_LIMIT',
    mime,
    `The ${mime} file unpacks to more than is allowed (at most ${limits.maxArchiveEntries} entries and ${Math.round(limits.maxArchiveBytes / MB)} MB).`
  );

/** Runs a parser on untrusted bytes: any failure of its own (not one of our refusals) means the file is corrupt. */
const orCorrupt = async <T>(mime: string, parse: () => Promise<T>): Promise<T> => {
  try {
    return await parse();
  } catch (e) {
    if (e instanceof IntakeError) throw e;
    throw corrupt(mime);
  }
};

const resolveLimits = (limits: Partial<IntakeLimits> = {}): Required<IntakeLimits> => ({
  maxPixels: limits.maxPixels ?? DEFAULTS.maxPixels,
  maxArchiveBytes: limits.maxArchiveBytes ?? DEFAULTS.maxArchiveBytes,
  maxArchiveEntries: limits.maxArchiveEntries ?? DEFAULTS.maxArchiveEntries,
});

// ---------------------------------------------------------------------------------------------------
// Sniffing: the type comes from the bytes only (a client's name and Content-Type are not evidence).

const ZIP_LOCAL = Buffer.from('PK\x03\x04', 'latin1');
const WORD_STREAM = Buffer.from('WordDocument', 'utf16le');
const PDF_MAGIC = Buffer.from('%PDF-', 'latin1');
/** Readers look for the PDF header anywhere in the first KiB, which is what makes PDF polyglots work. */
const PDF_WINDOW = 1024;

/** Signatures of the accepted images and PDF, for what file-type cannot finish reading. */
const STUBS: [Buffer, number, string][] = [
  [Buffer.from([0xff, 0xd8, 0xff]), 0, 'jpg'],
  [Buffer.from('89504e470d0a1a0a', 'hex'), 0, 'png'],
  [Buffer.from('WEBP', 'latin1'), 8, 'webp'],
  [PDF_MAGIC, 0, 'pdf'],
];

/** Where file-type starts looking for Illustrator's marker in a PDF (it reads up to 10 MB from there). */
const AI_FROM = 1350;
const AI_MARKER = Buffer.from('AIPrivateData', 'latin1');

/**
 * file-type's answer for a file that opens as a PDF, given the same way without its copy: to tell an
 * Illustrator file from a PDF it copies up to 10 MB of the file into a new buffer and searches that; here
 * it sees only the head, and the marker is searched in place.
 */
const detectPdf = async (bytes: Buffer): Promise<{ ext: string; mime: string } | undefined> => {
  const found = await fromBuffer(bytes.subarray(0, AI_FROM));
  if (found?.ext !== 'pdf') return found;
  return bytes.subarray(AI_FROM, AI_FROM + 10 * MB).includes(AI_MARKER) ? { ext: 'ai', mime: 'application/postscript' } : found;
};

/**
 * file-type's answer, except that it throws (End-Of-Stream) on a signature with too little behind it, e.g.
 * a PNG cut inside its first chunk: such a stub is still that type, only truncated, and is refused as corrupt.
 */
const detect = async (bytes: Buffer): Promise<{ ext: string; mime: string } | undefined> => {
  try {
    if (bytes.subarray(0, PDF_MAGIC.length).equals(PDF_MAGIC)) return await detectPdf(bytes);
    return await fromBuffer(bytes);
  } catch {
    const stub = STUBS.find(([magic, at]) => bytes.subarray(at, at + magic.length).equals(magic));
    return stub && { ext: stub[2], mime: 'application/octet-stream' };
  }
};

interface Identified {
  type: ScanType;
  /** The opened package, for a DOCX: cleaning reuses it rather than parsing the archive twice. */
  zip?: JSZip;
}

const identify = async (bytes: Buffer, limits: Required<IntakeLimits>): Promise<Identified> => {
  if (!bytes.length) throw empty();
  const found = await detect(bytes);
  const direct = found && DIRECT[found.ext];
  if (direct) return { type: TYPES[direct] };
  // file-type reads a ZIP's first local header only; which package it is needs [Content_Types].xml.
  if (bytes.subarray(0, 4).equals(ZIP_LOCAL)) {
    // file-type calls any ZIP with a word/ part "docx"; until [Content_Types].xml agrees it is just a ZIP.
    const zipMime = found && found.ext !== 'docx' ? found.mime : 'application/zip';
    return { type: TYPES.docx, zip: await openWordPackage(bytes, limits, zipMime) };
  }
  if (found?.ext === 'cfb') {
    if (bytes.includes(WORD_STREAM)) return { type: TYPES.doc };
    throw unsupported(found.mime);
  }
  if (found && found.ext !== 'xml') throw unsupported(found.mime);
  const pdfAt = bytes.subarray(0, PDF_WINDOW).indexOf(PDF_MAGIC);
  if (pdfAt > 0) throw polyglot(TYPES.pdf.mime);
  throw unsupported(describeText(bytes) ?? found?.mime ?? null);
};

/** The type sniffed from the bytes (opening a ZIP far enough to tell a Word document from other packages). */
export const sniff = async (bytes: Buffer): Promise<ScanType> => ({ ...(await identify(bytes, DEFAULTS)).type });

const MARKUP: [RegExp, string][] = [
  [/<!doctype html|<html[\s>]/, 'text/html'],
  [/<svg[\s>]/, 'image/svg+xml'],
  [/<(head|body|script|iframe)[\s>]/, 'text/html'],
];

/** Names what file-type has no signature for: markup (HTML, SVG) or plain text. */
const describeText = (bytes: Buffer): string | null => {
  const head = bytes.subarray(0, PDF_WINDOW).toString('latin1').toLowerCase();
  const markup = MARKUP.find(([pattern]) => pattern.test(head));
  if (markup) return markup[1];
  return isPlainText(bytes) ? 'text/plain' : null;
};

const isPlainText = (bytes: Buffer): boolean => {
  try {
    return !/[\x00-\x08\x0e-\x1f\x7f]/.test(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return false;
  }
};

// ---------------------------------------------------------------------------------------------------
// Images: the file must end where its own structure ends, then it is decoded and re-encoded, which
// drops every metadata block (sharp keeps none unless asked with withMetadata/keepMetadata).

/** Where the JPEG's structure ends (just past its EOI), or null when it is truncated or malformed. */
const jpegEnd = (b: Buffer): number | null => {
  if (b[0] !== 0xff || b[1] !== 0xd8) return null;
  let p = 2;
  while (p < b.length) {
    if (b[p] !== 0xff) return null;
    while (b[p] === 0xff) p++; // fill bytes before a marker
    if (p >= b.length) return null;
    const marker = b[p++];
    if (marker === 0xd9) return p;
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue; // RSTn and TEM carry no length
    if (marker === 0x00 || marker === 0xd8 || p + 2 > b.length) return null;
    // Every other segment says its length, so an EXIF thumbnail's own FFD9 inside APP1 is skipped whole.
    const length = b.readUInt16BE(p);
    if (length < 2 || p + length > b.length) return null;
    p += length;
    if (marker === 0xda) {
      p = entropyEnd(b, p);
      if (p < 0) return null;
    }
  }
  return null;
};

/** After an SOS header: the offset of the next marker, past entropy data where FF00 is a stuffed FF and RSTn are inline. */
const entropyEnd = (b: Buffer, from: number): number => {
  for (let p = b.indexOf(0xff, from); p >= 0 && p + 1 < b.length; p = b.indexOf(0xff, p + 1)) {
    const next = b[p + 1];
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
      p++;
      continue;
    }
    return p;
  }
  return -1;
};

const PNG_IHDR = 'IHDR';

/** Where the PNG's IEND chunk ends, or null when the chunk chain is truncated or does not open with IHDR. */
const pngEnd = (b: Buffer): number | null => {
  for (let p = 8, first = true; p + 12 <= b.length; first = false) {
    const next = p + 12 + b.readUInt32BE(p);
    const type = b.toString('latin1', p + 4, p + 8);
    if ((first && type !== PNG_IHDR) || next > b.length) return null;
    if (type === 'IEND') return next;
    p = next;
  }
  return null;
};

/** Where the WebP's RIFF container ends by its own size field, or null when the file is shorter. */
const webpEnd = (b: Buffer): number | null => {
  if (b.length < 12) return null;
  const end = 8 + b.readUInt32LE(4);
  return end <= b.length ? end : null;
};

const STRUCTURE_END: Record<ImageKind, (b: Buffer) => number | null> = { jpeg: jpegEnd, png: pngEnd, webp: webpEnd };

/** Zero padding after the end is common from scanners and harmless; anything else is a second file riding along. */
const assertEndsWithItself = (bytes: Buffer, kind: ImageKind): void => {
  const end = STRUCTURE_END[kind](bytes);
  if (end === null) throw corrupt(TYPES[kind].mime);
  for (let p = end; p < bytes.length; p++) if (bytes[p] !== 0) throw polyglot(TYPES[kind].mime);
};

const ENCODE: Record<ImageKind, (s: Sharp) => Sharp> = {
  // No Huffman optimisation: libjpeg can only optimise the tables with every DCT coefficient of the image
  // held at once (2 bytes × 3 per pixel at 4:4:4, 95 MB for 16 MP), where a baseline encode streams from
  // the decoder in strips. The file comes out larger (~18 % on the benchmark's photos; figure 10).
  jpeg: (s) => s.jpeg({ quality: 90, mozjpeg: false, optimiseCoding: false }),
  png: (s) => s.png(),
  webp: (s) => s.webp({ quality: 90 }),
};

const cleanImage = async (bytes: Buffer, kind: ImageKind, maxPixels: number): Promise<CleanedScan> => {
  const type = TYPES[kind];
  assertEndsWithItself(bytes, kind);
  // The header is read without sharp's own limit so a pixel bomb gets its own answer (sharp's limit also
  // fails metadata(), with the same error as any other); the limit stays on the decode as a backstop.
  const declared = await orCorrupt(type.mime, () => sharp(bytes, { limitInputPixels: false }).metadata());
  if (!declared.width || !declared.height) throw corrupt(type.mime);
  if (declared.width * declared.height > maxPixels) throw tooManyPixels(type.mime, maxPixels);
  // failOn 'warning' (the strictest): 'none' would accept a truncated JPEG or PNG as a partly grey picture.
  const decoder = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'warning', sequentialRead: true }).rotate(); // rotate() first: applies EXIF Orientation
  const { data, info } = await orCorrupt(type.mime, () => ENCODE[kind](decoder).toBuffer({ resolveWithObject: true }));
  return { ...type, bytes: data, cleaned: true, width: info.width, height: info.height };
};

// ---------------------------------------------------------------------------------------------------
// PDF

const ACTIVE_HEAD = [/<html[\s>]/, /<script[\s>]/, /<!doctype/, /<body[\s>]/, /<svg[\s>]/];

/** A PDF must open with its header and not also read as HTML or a ZIP from its first KiB. */
const assertPlainPdfHead = (bytes: Buffer): void => {
  const head = bytes.subarray(0, PDF_WINDOW);
  const text = head.toString('latin1').toLowerCase();
  if (!head.subarray(0, PDF_MAGIC.length).equals(PDF_MAGIC) || head.includes(ZIP_LOCAL) || ACTIVE_HEAD.some((p) => p.test(text))) {
    throw polyglot(TYPES.pdf.mime);
  }
};

/**
 * Removes the document information dictionary and the catalog's XMP stream — the objects themselves, since
 * pdf-lib writes every object in its context, referenced or not — then every other object nothing reaches
 * from the catalog: the Info and XMP of earlier incremental revisions stay behind as such orphans.
 */
const stripPdfMetadata = (doc: PDFDocument): void => {
  const { context } = doc;
  const info = context.trailerInfo.Info;
  if (info instanceof PDFRef) context.delete(info);
  context.trailerInfo.Info = undefined;
  const xmp = doc.catalog.get(PDFName.of('Metadata'));
  if (xmp instanceof PDFRef) context.delete(xmp);
  doc.catalog.delete(PDFName.of('Metadata'));
  dropUnreachable(context);
};

const dropUnreachable = (context: PDFContext): void => {
  const reached = new Set<PDFRef>(); // PDFRef.of interns refs, so identity is equality
  const pending: (PDFObject | undefined)[] = [context.trailerInfo.Root];
  while (pending.length) {
    const o = pending.pop();
    if (o instanceof PDFRef) {
      if (reached.has(o)) continue;
      reached.add(o);
      pending.push(context.lookup(o));
    } else if (o instanceof PDFDict)
      for (const v of o.values()) pending.push(v); // no spread: a page tree can outgrow the argument limit
    else if (o instanceof PDFArray) for (const v of o.asArray()) pending.push(v);
    else if (o instanceof PDFStream) pending.push(o.dict);
  }
  for (const [ref] of context.enumerateIndirectObjects()) if (!reached.has(ref)) context.delete(ref);
};

const cleanPdf = async (bytes: Buffer): Promise<CleanedScan> => {
  assertPlainPdfHead(bytes);
  const { mime } = TYPES.pdf;
  // ignoreEncryption only so the refusal can say why; throwOnInvalidObject so nothing unparsed is copied through.
  const doc = await orCorrupt(mime, () =>
    PDFDocument.load(bytes, { updateMetadata: false, ignoreEncryption: true, throwOnInvalidObject: true })
  );
  if (doc.isEncrypted) throw encrypted();
  const out = await orCorrupt(mime, async () => {
    if (doc.getPageCount() === 0) throw corrupt(mime);
    stripPdfMetadata(doc);
    // Defaults would add a blank page to an empty document and an AcroForm to refresh field appearances.
    return doc.save({ addDefaultPage: false, updateFieldAppearances: false });
  });
  return { ...TYPES.pdf, bytes: Buffer.from(out.buffer, out.byteOffset, out.byteLength), cleaned: true }; // a view, not a copy
};

// ---------------------------------------------------------------------------------------------------
// DOCX: a ZIP, so sizes are checked from its central directory before anything is inflated, and inflation
// itself stops at the limit (a directory can understate sizes).

interface ZipDirectory {
  entries: number;
  uncompressed: number;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const EOCD_MIN = 22;
const ZIP64_MARK = 0xffffffff;

/** Entry count and declared uncompressed total from the central directory, or null when there is none to read. */
const zipDirectory = (b: Buffer): ZipDirectory | null => {
  const searchFrom = Math.max(0, b.length - EOCD_MIN - 0xffff); // the EOCD sits before an archive comment of up to 64 KiB
  let eocd = -1;
  for (let p = b.length - EOCD_MIN; p >= searchFrom && eocd < 0; p--) if (b.readUInt32LE(p) === EOCD) eocd = p;
  if (eocd < 0) return null;
  const size = b.readUInt32LE(eocd + 12);
  const offset = b.readUInt32LE(eocd + 16);
  // ZIP64 (or a directory pointing past the file): no scan needs one, so it counts as over the limit.
  if (b.readUInt16LE(eocd + 10) === 0xffff || size === ZIP64_MARK || offset === ZIP64_MARK)
    return { entries: Infinity, uncompressed: Infinity };
  if (offset + size > eocd) return null;
  let entries = 0;
  let uncompressed = 0;
  for (let p = offset; p < offset + size; entries++) {
    if (p + 46 > eocd || b.readUInt32LE(p) !== CENTRAL) return null;
    const declared = b.readUInt32LE(p + 24);
    uncompressed += declared === ZIP64_MARK ? Infinity : declared;
    p += 46 + b.readUInt16LE(p + 28) + b.readUInt16LE(p + 30) + b.readUInt16LE(p + 32);
  }
  return { entries, uncompressed };
};

/**
 * Inflates one entry, counting against the bytes still allowed, and stops as soon as it goes over: a paused
 * JSZip stream stops inflating once its buffer fills. (Its streams are readable-stream 2, not async-iterable.)
 */
const inflateWithin = (file: JSZip.JSZipObject, budget: { left: number }, overLimit: () => IntakeError): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const stream = file.nodeStream('nodebuffer');
    stream.on('data', (chunk: Buffer) => {
      budget.left -= chunk.length;
      if (budget.left >= 0) return void chunks.push(chunk);
      stream.removeAllListeners('data');
      stream.pause();
      reject(overLimit());
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });

const CONTENT_TYPES = '[Content_Types].xml';
/** Real ones are a few KiB; this is read while sniffing, before the caller's limits are known. */
const CONTENT_TYPES_MAX = MB;
const WORD_MAIN = /ContentType\s*=\s*["']application\/vnd\.openxmlformats-officedocument\.wordprocessingml\.document\.main\+xml["']/;
const MAIN_PART = /ContentType\s*=\s*["']([^"']+\.main\+xml)["']/;

/** Opens a ZIP that must be a Word document; any other package is refused under the type it declares. */
const openWordPackage = async (bytes: Buffer, limits: Required<IntakeLimits>, zipMime: string): Promise<JSZip> => {
  const directory = zipDirectory(bytes);
  if (!directory) throw corrupt(zipMime);
  if (directory.entries > limits.maxArchiveEntries || directory.uncompressed > limits.maxArchiveBytes) throw archiveLimit(zipMime, limits);
  const zip = await orCorrupt(zipMime, () => JSZip.loadAsync(bytes));
  const types = zip.file(CONTENT_TYPES);
  const declared = types
    ? (await orCorrupt(zipMime, () => inflateWithin(types, { left: CONTENT_TYPES_MAX }, () => archiveLimit(zipMime, limits)))).toString(
        'utf8'
      )
    : '';
  if (WORD_MAIN.test(declared)) return zip;
  const isJar = zip.file('META-INF/MANIFEST.MF') !== null;
  throw unsupported(MAIN_PART.exec(declared)?.[1] ?? (isJar ? 'application/java-archive' : zipMime));
};

const CORE_PROPS = 'docprops/core.xml';
const APP_PROPS = 'docprops/app.xml';
const CUSTOM_PROPS = 'docprops/custom.xml';
const ROOT_RELS = '_rels/.rels';

/** Core properties with every field dropped (creator, lastModifiedBy, title, subject, keywords, dates, …). */
const MINIMAL_CORE =
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' +
  '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" ' +
  'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" ' +
  'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>';

/** Rewrites of the parts that hold document properties (by lower-cased part name: OPC names ignore case). */
const REWRITE: Record<string, (xml: string) => string> = {
  [CORE_PROPS]: () => MINIMAL_CORE,
  [APP_PROPS]: (xml) => xml.replace(/<((?:\w+:)?(?:Company|Manager))\b[^>]*>[\s\S]*?<\/\1>/g, '<$1/>'),
  [ROOT_RELS]: (xml) => xml.replace(/<Relationship\b[^>]*\bTarget\s*=\s*["']\/?docProps\/custom\.xml["'][^>]*\/>/gi, ''),
  [CONTENT_TYPES.toLowerCase()]: (xml) => xml.replace(/<Override\b[^>]*\bPartName\s*=\s*["']\/docProps\/custom\.xml["'][^>]*\/>/gi, ''),
};

/** Copies every part into a fresh archive (no archive or entry comments, no extra fields), rewriting the property parts. */
const cleanDocx = async (zip: JSZip, limits: Required<IntakeLimits>): Promise<CleanedScan> => {
  const { mime } = TYPES.docx;
  const budget = { left: limits.maxArchiveBytes };
  const out = new JSZip();
  for (const entry of Object.values(zip.files)) {
    const name = entry.name.toLowerCase();
    if (entry.dir || name === CUSTOM_PROPS) continue; // folders are implied by the part names
    const data = await orCorrupt(mime, () => inflateWithin(entry, budget, () => archiveLimit(mime, limits)));
    const rewrite = REWRITE[name];
    // No folder entries: OPC packages have none, and Office is the judge of what a package looks like.
    out.file(entry.name, rewrite ? Buffer.from(rewrite(data.toString('utf8')), 'utf8') : data, { createFolders: false });
  }
  const bytes = await out.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
  return { ...TYPES.docx, bytes, cleaned: true };
};

// ---------------------------------------------------------------------------------------------------

/**
 * Sniffs, checks and cleans one scan. Images are re-encoded without metadata, PDFs lose their document
 * information and XMP, DOCX their document properties; a legacy DOC is taken as uploaded (cleaned: false).
 */
export const cleanScan = async (bytes: Buffer, limits?: Partial<IntakeLimits>): Promise<CleanedScan> => {
  const resolved = resolveLimits(limits);
  const { type, zip } = await identify(bytes, resolved);
  switch (type.kind) {
    case 'jpeg':
    case 'png':
    case 'webp':
      return cleanImage(bytes, type.kind, resolved.maxPixels);
    case 'pdf':
      return cleanPdf(bytes);
    case 'docx':
      return cleanDocx(zip as JSZip, resolved); // identify opens the package for every DOCX
    case 'doc':
      return { ...type, bytes, cleaned: false };
  }
};
