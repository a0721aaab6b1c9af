import JSZip from 'jszip';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { cleanScan, IntakeError, sniff } from '../../../plugins/id-vault/server/src/scans/intake';
import * as corpus from '../../fixtures/scans/corpus';

const { MARKER } = corpus;
const MB = 1024 * 1024;

const refusal = async (p: Promise<unknown>): Promise<IntakeError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof IntakeError) return e;
    throw e;
  }
  throw new Error('expected an IntakeError');
};

/** The segments before the first SOS, by marker (the metadata lives there). */
const jpegHeaderMarkers = (b: Buffer): number[] => {
  const markers: number[] = [];
  for (let p = 2; b[p + 1] !== 0xda; p += 2 + b.readUInt16BE(p + 2)) markers.push(b[p + 1]);
  return markers;
};

const pngChunkTypes = (b: Buffer): string[] => {
  const types: string[] = [];
  for (let p = 8; p < b.length; p += 12 + b.readUInt32BE(p)) types.push(b.toString('latin1', p + 4, p + 8));
  return types;
};

const noMetadata = async (bytes: Buffer) => {
  const m = await sharp(bytes).metadata();
  expect({ exif: m.exif, xmp: m.xmp, icc: m.icc, iptc: m.iptc, comments: m.comments, orientation: m.orientation }).toEqual({
    exif: undefined,
    xmp: undefined,
    icc: undefined,
    iptc: undefined,
    comments: undefined,
    orientation: undefined,
  });
  expect(bytes.includes(MARKER)).toBe(false);
};

/** Codes for the 422 refusals that are not CORRUPT; every 415 is UNSUPPORTED_TYPE. */
const CODES: Record<string, string> = {
  empty: 'EMPTY',
  'jpeg + zip appended': 'POLYGLOT',
  'jpeg + html appended': 'POLYGLOT',
  'png + trailing data': 'POLYGLOT',
  'webp + trailing data': 'POLYGLOT',
  'pdf with html head': 'POLYGLOT',
  'html with pdf inside first KiB': 'POLYGLOT',
  'pdf with zip head': 'POLYGLOT',
  'pixel-bomb png': 'TOO_MANY_PIXELS',
  'pixel-bomb jpeg header': 'TOO_MANY_PIXELS',
  'encrypted pdf': 'ENCRYPTED',
  'docx zip-bomb: entries': 'ARCHIVE_LIMIT',
  'docx zip-bomb: declared size': 'ARCHIVE_LIMIT',
};

/** What a 415 must name. */
const DETECTED: Record<string, string | null> = {
  'one byte': 'text/plain',
  'one zero byte': null,
  'html renamed .jpg': 'text/html',
  'html with leading whitespace and BOM': 'text/html',
  svg: 'image/svg+xml',
  'svg without xml prolog': 'image/svg+xml',
  gif: 'image/gif',
  tiff: 'image/tiff',
  bmp: 'image/bmp',
  heic: 'image/heic',
  avif: 'image/avif',
  zip: 'application/zip',
  gzip: 'application/gzip',
  '7z head': 'application/x-7z-compressed',
  'rar head': 'application/x-rar-compressed',
  tar: 'application/x-tar',
  exe: 'application/x-msdownload',
  'plain text': 'text/plain',
  'xlsx-like zip': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml',
  'pptx-like zip': 'application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml',
  'docm (macro-enabled Word)': 'application/vnd.ms-word.document.macroEnabled.main+xml',
  'odt-like zip': 'application/vnd.oasis.opendocument.text',
  jar: 'application/java-archive',
  'word parts without [Content_Types].xml': 'application/zip',
  'cfb that is not word': 'application/x-cfb',
  'random bytes': null,
};

describe('scan intake: refusals', () => {
  let bad: corpus.BadScan[];
  beforeAll(async () => {
    bad = await corpus.bad();
  });

  it('the corpus has at least 35 distinct bad files', () => {
    expect(bad.length).toBeGreaterThanOrEqual(35);
    expect(new Set(bad.map((b) => b.name)).size).toBe(bad.length);
  });

  it('refuses every bad file with its status and code', async () => {
    const outcomes = await Promise.all(
      bad.map(async (b) => {
        const e = await refusal(cleanScan(b.bytes));
        return { name: b.name, status: e.status, code: e.code };
      })
    );
    const expected = bad.map((b) => ({
      name: b.name,
      status: b.expect,
      code: b.expect === 415 ? 'UNSUPPORTED_TYPE' : (CODES[b.name] ?? 'CORRUPT'),
    }));
    expect(outcomes).toEqual(expected);
  });

  it('a 415 names what was detected ("unknown" when nothing), and no message carries content', async () => {
    for (const b of bad) {
      const e = await refusal(cleanScan(b.bytes));
      expect(e.message).not.toMatch(/MARKER|synthetic|hello/i);
      if (b.expect !== 415) continue;
      expect({ name: b.name, detected: e.detected }).toEqual({ name: b.name, detected: DETECTED[b.name] });
      expect(e.message).toContain(e.detected ?? 'unknown');
    }
  });

  it('sniff refuses the same unsupported types (it decides the type)', async () => {
    for (const b of bad.filter((x) => x.expect === 415)) {
      expect({ name: b.name, status: (await refusal(sniff(b.bytes))).status }).toEqual({ name: b.name, status: 415 });
    }
    expect((await refusal(sniff(Buffer.alloc(0)))).code).toBe('EMPTY');
  });
});

describe('scan intake: images', () => {
  it('JPEG: applies EXIF Orientation 6, then drops EXIF (GPS, thumbnail), XMP, ICC and the comment', async () => {
    const input = await corpus.jpegWithGpsAndOrientation6();
    const before = await sharp(input).metadata();
    expect([before.width, before.height, before.orientation]).toEqual([64, 32, 6]);
    expect(before.exif && before.xmp && before.icc).toBeTruthy();
    expect(before.exif!.includes(Buffer.from([0x25, 0x88]))).toBe(true); // the GPS IFD pointer tag
    expect(input.includes(MARKER)).toBe(true);
    expect(jpegHeaderMarkers(input)).toContain(0xfe);

    const out = await cleanScan(input);
    expect(out).toMatchObject({ kind: 'jpeg', mime: 'image/jpeg', ext: 'jpg', cleaned: true, width: 32, height: 64 });
    const after = await sharp(out.bytes).metadata();
    expect([after.format, after.width, after.height]).toEqual(['jpeg', 32, 64]);
    await noMetadata(out.bytes);
    // Only JFIF APP0, tables and the frame remain: no APP1 (EXIF/XMP), APP2 (ICC), APP13 (IPTC) or COM.
    expect(jpegHeaderMarkers(out.bytes).filter((m) => (m >= 0xe1 && m <= 0xef) || m === 0xfe)).toEqual([]);
  });

  it('JPEG: rotates clockwise, as Orientation 6 means', async () => {
    const out = await cleanScan(await corpus.jpegWithGpsAndOrientation6());
    const { data, info } = await sharp(out.bytes).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 2)];
    // Stored top-left (red 0, green 0) goes to the top-right; stored bottom-left (green high) to the top-left.
    const [r1, g1] = at(info.width - 1, 0);
    const [r2, g2] = at(0, 0);
    expect(r1 < 40 && g1 < 40).toBe(true);
    expect(r2 < 40 && g2 > 200).toBe(true);
  });

  it('JPEG: a progressive file (several SOS) and zero padding after EOI are accepted', async () => {
    const progressive = await corpus.progressiveJpeg();
    expect((await cleanScan(progressive)).kind).toBe('jpeg');
    expect((await cleanScan(Buffer.concat([progressive, Buffer.alloc(512)]))).kind).toBe('jpeg');
  });

  it('PNG: text, XMP and eXIf chunks are gone', async () => {
    const input = await corpus.png();
    expect((await sharp(input).metadata()).comments).toBeDefined();
    const out = await cleanScan(input);
    expect(out).toMatchObject({ kind: 'png', mime: 'image/png', ext: 'png', cleaned: true, width: 40, height: 20 });
    await noMetadata(out.bytes);
    expect(pngChunkTypes(out.bytes).filter((t) => ['tEXt', 'iTXt', 'zTXt', 'eXIf', 'iCCP'].includes(t))).toEqual([]);
  });

  it('WebP: EXIF and XMP chunks are gone', async () => {
    const input = await corpus.webp();
    expect(input.includes(MARKER)).toBe(true);
    const out = await cleanScan(input);
    expect(out).toMatchObject({ kind: 'webp', mime: 'image/webp', ext: 'webp', cleaned: true, width: 30, height: 30 });
    await noMetadata(out.bytes);
  });

  it('the pixel limit is the caller’s', async () => {
    const e = await refusal(cleanScan(await corpus.progressiveJpeg(), { maxPixels: 1000 }));
    expect([e.status, e.code, e.detected]).toEqual([422, 'TOO_MANY_PIXELS', 'image/jpeg']);
  });
});

describe('scan intake: documents', () => {
  it('PDF: the Info dictionary, the XMP stream and orphaned objects are gone; pages stay', async () => {
    const input = await corpus.pdfWithInfo();
    expect([MARKER, 'xpacket', `${MARKER}-old-revision`].map((s) => input.includes(s))).toEqual([true, true, true]);
    const out = await cleanScan(input);
    expect(out).toMatchObject({ kind: 'pdf', mime: 'application/pdf', ext: 'pdf', cleaned: true });
    // pdf-lib packs dictionaries into compressed object streams, so the raw output alone proves little:
    // everything it holds is also written out again uncompressed and searched.
    const reloaded = await PDFDocument.load(out.bytes, { updateMetadata: false });
    const expanded = Buffer.from(await reloaded.save({ useObjectStreams: false }));
    for (const planted of [MARKER, 'xpacket', '/Author', '/Title', '/Producer', '/ModDate', '/Metadata', '/Info']) {
      expect({ planted, raw: out.bytes.includes(planted), expanded: expanded.includes(planted) }).toEqual({
        planted,
        raw: false,
        expanded: false,
      });
    }
    expect(reloaded.getPageCount()).toBe(1);
    expect(reloaded.getPage(0).getSize()).toEqual({ width: 200, height: 100 });
  });

  it('DOCX: core, app and custom properties are cleaned; the body stays', async () => {
    const out = await cleanScan(await corpus.docx());
    expect(out).toMatchObject({
      kind: 'docx',
      ext: 'docx',
      cleaned: true,
      mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    });
    const zip = await JSZip.loadAsync(out.bytes);
    const parts = Object.fromEntries(
      await Promise.all(Object.keys(zip.files).map(async (n) => [n, await zip.file(n)!.async('string')] as const))
    );
    expect(Object.keys(parts).sort()).toEqual([
      '[Content_Types].xml',
      '_rels/.rels',
      'docProps/app.xml',
      'docProps/core.xml',
      'word/document.xml',
    ]);
    for (const [name, xml] of Object.entries(parts))
      expect({ name, marker: xml.includes(MARKER), custom: xml.includes('custom') }).toEqual({ name, marker: false, custom: false });
    expect(parts['docProps/core.xml']).toMatch(/<cp:coreProperties [^>]*\/>$/);
    expect(parts['docProps/app.xml']).toContain('<Company/><Manager/>');
    expect(parts['word/document.xml']).toContain('SYNTHETIC BODY');
    expect((await sniff(out.bytes)).kind).toBe('docx');
  });

  it('DOCX: entry and size limits are the caller’s, and inflation stops where a directory understates sizes', async () => {
    const word = await corpus.docx();
    expect((await refusal(cleanScan(word, { maxArchiveEntries: 3 }))).code).toBe('ARCHIVE_LIMIT');
    expect((await refusal(cleanScan(word, { maxArchiveBytes: 1000 }))).code).toBe('ARCHIVE_LIMIT');
    const understated = await corpus.docxUnderstatingSize(2 * MB);
    const e = await refusal(cleanScan(understated, { maxArchiveBytes: MB }));
    expect([e.status, e.code]).toEqual([422, 'ARCHIVE_LIMIT']);
  });

  it('DOC: a compound file with a WordDocument stream is taken as uploaded', async () => {
    const input = corpus.doc();
    const out = await cleanScan(input);
    expect(out).toMatchObject({ kind: 'doc', mime: 'application/msword', ext: 'doc', cleaned: false });
    expect(out.bytes.equals(input)).toBe(true);
  });
});

describe('scan intake: sniffing', () => {
  it('decides from the bytes alone', async () => {
    expect(sniff.length).toBe(1); // no name, no client Content-Type to be misled by
    const kinds = await Promise.all(
      [
        corpus.jpegWithGpsAndOrientation6(),
        corpus.png(),
        corpus.webp(),
        corpus.pdfWithInfo(),
        corpus.docx(),
        Promise.resolve(corpus.doc()),
      ].map(async (b) => sniff(await b))
    );
    expect(kinds).toEqual([
      { kind: 'jpeg', mime: 'image/jpeg', ext: 'jpg' },
      { kind: 'png', mime: 'image/png', ext: 'png' },
      { kind: 'webp', mime: 'image/webp', ext: 'webp' },
      { kind: 'pdf', mime: 'application/pdf', ext: 'pdf' },
      { kind: 'docx', mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', ext: 'docx' },
      { kind: 'doc', mime: 'application/msword', ext: 'doc' },
    ]);
  });

  it('a PDF that is an Illustrator file is refused as PostScript, its marker found anywhere file-type looks (sniffed in place)', async () => {
    const doc = await PDFDocument.create();
    doc.addPage([200, 200]);
    doc.setSubject('synthetic '.repeat(400)); // past the 1350 bytes file-type skips
    const pdf = Buffer.from(await doc.save({ useObjectStreams: false }));
    for (const at of [pdf.length - 10, 2000]) {
      const ai = Buffer.concat([pdf.subarray(0, at), Buffer.from('%AIPrivateData1\n'), pdf.subarray(at)]);
      expect(ai.length).toBeGreaterThan(1350 + 20);
      const e = await refusal(cleanScan(ai));
      expect([e.status, e.detected]).toEqual([415, 'application/postscript']);
    }
    expect((await sniff(pdf)).kind).toBe('pdf');
  });

  it('size is not the intake’s call: an oversized but well-formed file passes (413 is decided upstream)', async () => {
    const big = await corpus.oversized();
    expect([big.expect, big.bytes.length > 10 * MB]).toEqual([413, true]);
    expect((await cleanScan(big.bytes)).kind).toBe('jpeg');
  });
});
