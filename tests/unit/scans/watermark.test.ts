import fs from 'fs';
import sharp from 'sharp';
import fontkit from '@pdf-lib/fontkit';
import { PDFArray, PDFDict, PDFDocument, PDFName, PDFRawStream, StandardFonts, decodePDFRawStream, type PDFPage } from 'pdf-lib';
import { FONT_FILE, plainPreview, previewImage, watermarkPdf, watermarkText } from '../../../plugins/id-vault/server/src/scans/watermark';

const VIEWER = '测试员 Test';
const AT = new Date('2025-01-02T01:41:30Z');
const NOTICE_CJK = '仅供内部使用';

const solid = (width: number, height: number, background = '#808080') =>
  sharp({ create: { width, height, channels: 3, background } }).png().toBuffer();

const grey = async (jpeg: Buffer) => {
  const { data, info } = await sharp(jpeg).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
};

/** Mean darkness of a watermarked white image: how much ink `text` puts down per pixel. */
const ink = async (text: string) => {
  const { data } = await grey(await previewImage(await solid(800, 600, '#ffffff'), { text, maxSize: 800 }));
  return data.reduce((sum, v) => sum + 255 - v, 0) / data.length;
};

const threePages = async () => {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (let i = 1; i <= 3; i++) doc.addPage([595, 842]).drawText(`synthetic scan page ${i}`, { x: 50, y: 780, size: 24, font });
  return Buffer.from(await doc.save());
};

const contentStreams = (doc: PDFDocument, page: PDFPage) => {
  const contents = page.node.Contents();
  return contents instanceof PDFArray ? contents.asArray().map((ref) => doc.context.lookup(ref)) : [contents];
};

/** A reloaded page's content, decoded: every stream of a parsed PDF is a raw stream. */
const pageOps = (doc: PDFDocument, page: PDFPage) =>
  contentStreams(doc, page)
    .map((s) => Buffer.from(decodePDFRawStream(s as PDFRawStream).decode()).toString('latin1'))
    .join('\n');

describe('watermarkText', () => {
  const tz = process.env.TZ;
  afterEach(() => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  });

  test('viewer, minute in Asia/Shanghai by default, bilingual notice', () => {
    delete process.env.TZ;
    expect(watermarkText(VIEWER, AT)).toBe('测试员 Test · 2025-01-02 09:41 · 仅供内部使用 · internal use only');
    expect(watermarkText('viewer@example.test', new Date('2025-12-31T16:05:00Z'))).toBe('viewer@example.test · 2026-01-01 00:05 · 仅供内部使用 · internal use only');
  });

  test('process.env.TZ decides the zone; an unknown zone falls back to Asia/Shanghai', () => {
    process.env.TZ = 'UTC';
    expect(watermarkText(VIEWER, AT)).toContain('· 2025-01-02 01:41 ·');
    process.env.TZ = 'Europe/Berlin';
    expect(watermarkText(VIEWER, AT)).toContain('· 2025-01-02 02:41 ·');
    process.env.TZ = ':/etc/localtime';
    expect(watermarkText(VIEWER, AT)).toContain('· 2025-01-02 09:41 ·');
  });

  test('control, bidi and zero-width characters become single spaces; long names are cut; an empty one is refused', () => {
    expect(watermarkText(' 测试员\u202E\u0000Test\n\u200B x ', AT).split(' · ')[0]).toBe('测试员 Test x');
    const long = watermarkText('x'.repeat(200), AT).split(' · ')[0];
    expect([...long]).toHaveLength(64);
    expect(long.endsWith('…')).toBe(true);
    expect(() => watermarkText(' \u200B\n', AT)).toThrow(TypeError);
  });
});

describe('the font', () => {
  test('is the bundled Droid Sans Fallback, with every CJK character of the notice and no Latin letters', () => {
    const font = fontkit.create(fs.readFileSync(FONT_FILE));
    expect(font.familyName).toBe('Droid Sans Fallback');
    for (const ch of `${NOTICE_CJK}测试员`) expect(font.hasGlyphForCodePoint(ch.codePointAt(0)!)).toBe(true);
    // Latin comes from a system font through fontconfig (images) and Helvetica (PDFs).
    expect(font.hasGlyphForCodePoint('A'.codePointAt(0)!)).toBe(false);
  });

  test('Chinese renders as glyphs, not boxes', async () => {
    const [one, dense, unassigned] = await Promise.all(['一一一一一一', '鑫鑫鑫鑫鑫鑫', '\uE000'.repeat(6)].map(ink));
    // Pango draws a missing character as a box holding its hex code: any two would be about as dark.
    expect(dense / one).toBeGreaterThan(3);
    expect(unassigned / one).toBeGreaterThan(3);
    const a = await previewImage(await solid(400, 300), { text: '测试员仅供', maxSize: 400 });
    const b = await previewImage(await solid(400, 300), { text: '内部使用员', maxSize: 400 });
    expect(a.equals(b)).toBe(false);
  });

  test('Latin letters render too (from the system fallback font: boxes here mean the server lacks one)', async () => {
    const [dots, em] = await Promise.all(['......', 'MMMMMM'].map(ink));
    expect(em / dots).toBeGreaterThan(3);
  });
});

describe('previewImage', () => {
  const text = watermarkText(VIEWER, AT);

  test('a JPEG that fits maxSize, keeps the aspect ratio and is never enlarged', async () => {
    const cases: [number, number, number, number, number][] = [
      [4000, 3000, 1600, 1600, 1200],
      [1000, 3000, 1600, 533, 1600],
      [300, 200, 1600, 300, 200],
      [2000, 1000, 320, 320, 160],
      [100, 40, 320, 100, 40],
    ];
    for (const [w, h, maxSize, ow, oh] of cases) {
      const out = await previewImage(await solid(w, h), { text, maxSize });
      expect(out.subarray(0, 3).toString('hex')).toBe('ffd8ff');
      const meta = await sharp(out).metadata();
      expect(meta.format).toBe('jpeg');
      expect([meta.width, meta.height]).toEqual([ow, oh]);
    }
  });

  test.each([
    { maxSize: 1600, cells: 4 },
    { maxSize: 320, cells: 2 },
  ])('stamps text over the whole $maxSize px preview, not one corner (every cell of a $cells × $cells grid changed)', async ({ maxSize, cells }) => {
    const source = await solid(4000, 3000);
    const marked = await grey(await previewImage(source, { text, maxSize }));
    const plain = await grey(await plainPreview(source, maxSize));
    expect([marked.width, marked.height]).toEqual([plain.width, plain.height]);
    const cw = Math.floor(plain.width / cells);
    const ch = Math.floor(plain.height / cells);
    for (let cy = 0; cy < cells; cy++) {
      for (let cx = 0; cx < cells; cx++) {
        let changed = 0;
        for (let y = cy * ch; y < (cy + 1) * ch; y++) {
          for (let x = cx * cw; x < (cx + 1) * cw; x++) if (Math.abs(marked.data[y * plain.width + x] - plain.data[y * plain.width + x]) > 24) changed++;
        }
        expect(changed / (cw * ch)).toBeGreaterThan(0.01);
      }
    }
  });

  test('a transparent PNG goes on white, not black', async () => {
    const png = await sharp({ create: { width: 400, height: 300, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
    const { data } = await grey(await plainPreview(png, 400));
    expect(data[0]).toBeGreaterThan(250);
  });
});

describe('markup characters in the viewer name', () => {
  test('"<b>&" neither breaks the image watermark nor the PDF one', async () => {
    const text = watermarkText('测试员 <b>&', AT);
    await expect(previewImage(await solid(400, 300), { text, maxSize: 400 })).resolves.toBeInstanceOf(Buffer);
    const pdf = await PDFDocument.load(await watermarkPdf(await threePages(), text));
    // Helvetica hex for "<b>&": drawn as the characters they are.
    expect(pageOps(pdf, pdf.getPage(0))).toContain('3C623E26');
  });

  test('tags are shown as text, not applied', async () => {
    // Applied, the span would shrink the text to a dot; shown, it is as dark as the same text in brackets.
    const [tagged, bracketed] = await Promise.all(['<span size="1">x</span>', '[span size="1"]x[/span]'].map(ink));
    expect(tagged / bracketed).toBeGreaterThan(0.6);
  });
});

describe('watermarkPdf', () => {
  const text = watermarkText(VIEWER, AT);

  test('stamps every page, all over it', async () => {
    const source = await threePages();
    const before = await PDFDocument.load(source);
    const after = await PDFDocument.load(await watermarkPdf(source, text));
    expect(after.getPageCount()).toBe(3);
    after.getPages().forEach((page, i) => {
      expect(contentStreams(after, page).length).toBeGreaterThan(contentStreams(before, before.getPage(i)).length);
      const ops = pageOps(after, page);
      const cjkKey = page.node
        .Resources()!
        .lookup(PDFName.of('Font'), PDFDict)
        .entries()
        .find(([, ref]) => String(after.context.lookup(ref, PDFDict).get(PDFName.of('BaseFont'))).includes('DroidSansFallback'))![0];
      expect(ops).toContain(`${cjkKey} `);
      expect(ops).toMatch(/\/GS-\d+ gs/);
      // Label origins land in every cell of a 3×3 grid over the page.
      const origins = [...ops.matchAll(/([-\d.]+) ([-\d.]+) Tm/g)].map((m) => [Number(m[1]), Number(m[2])]);
      for (let cx = 0; cx < 3; cx++) {
        for (let cy = 0; cy < 3; cy++) {
          const inCell = origins.some(([x, y]) => x >= (cx * 595) / 3 && x < ((cx + 1) * 595) / 3 && y >= (cy * 842) / 3 && y < ((cy + 1) * 842) / 3);
          expect(inCell).toBe(true);
        }
      }
    });
  });

  test('embeds a subset of the font, with the right outlines', async () => {
    const source = await threePages();
    const out = await watermarkPdf(source, text);
    expect(out.length - source.length).toBeLessThan(100 * 1024);
    const doc = await PDFDocument.load(out);
    const descriptors = [...doc.context.enumerateIndirectObjects()]
      .map(([, o]) => o)
      .filter((o): o is PDFDict => o instanceof PDFDict && String(o.get(PDFName.of('Type'))) === '/FontDescriptor');
    expect(descriptors).toHaveLength(1);
    const file = Buffer.from(decodePDFRawStream(doc.context.lookup(descriptors[0].get(PDFName.of('FontFile2'))) as PDFRawStream).decode());
    expect(file.length).toBeLessThan(20 * 1024);
    // @pdf-lib/fontkit's subsetter shifts glyphs after an odd-length one unless the font is padded first.
    const subset = fontkit.create(file);
    const outlines = new Set(Array.from({ length: subset.numGlyphs }, (_, g) => subset.getGlyph(g).path.toSVG()));
    const original = fontkit.create(fs.readFileSync(FONT_FILE));
    for (const ch of `${NOTICE_CJK}测试员`) expect(outlines.has(original.glyphForCodePoint(ch.codePointAt(0)!).path.toSVG())).toBe(true);
  });
});
