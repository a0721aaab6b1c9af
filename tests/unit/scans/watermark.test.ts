import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import sharp from 'sharp';
import fontkit from '@pdf-lib/fontkit';
import { PDFArray, PDFDict, PDFDocument, PDFName, PDFRawStream, StandardFonts, decodePDFRawStream, type PDFObject, type PDFPage } from 'pdf-lib';
import { CJK_FONT_FILE, LATIN_FONT_FILE, plainPreview, previewImage, watermarkPdf, watermarkText } from '../../../plugins/id-vault/server/src/scans/watermark';

const MODULE = path.resolve(__dirname, '../../../plugins/id-vault/server/src/scans/watermark.ts');
const VIEWER = '测试员 Test';
const AT = new Date('2025-01-02T01:41:30Z');
const NOTICE_CJK = '仅供内部使用';
const NOTICE_LATIN = 'internal use only ·';
/** A mixed name: Latin (with composite glyphs: ë, Å, ö), CJK and the markup characters of an e-mail address. */
const MIXED = 'Zhang San 张三 <test@example.test> Zoë Åström';

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

const decoded = (doc: PDFDocument, stream: PDFObject | undefined) => Buffer.from(decodePDFRawStream(doc.context.lookup(stream) as PDFRawStream).decode());

/** A reloaded page's content, decoded: every stream of a parsed PDF is a raw stream. */
const pageOps = (doc: PDFDocument, page: PDFPage) =>
  contentStreams(doc, page)
    .map((s) => decoded(doc, s).toString('latin1'))
    .join('\n');

/** The page's fonts by resource key ("/Arimo-123"): base font name and, for pdf-lib's Type0 fonts, glyph id (4 hex digits) → text. */
const pageFonts = (doc: PDFDocument, page: PDFPage) =>
  new Map(
    page.node
      .Resources()!
      .lookup(PDFName.of('Font'), PDFDict)
      .entries()
      .map(([key, ref]) => {
        const font = doc.context.lookup(ref, PDFDict);
        const toUnicode = font.get(PDFName.of('ToUnicode'));
        const cmap = toUnicode ? decoded(doc, toUnicode).toString('latin1') : '';
        // pdf-lib writes one bfchar line per glyph: "<gid> <UTF-16BE>".
        const chars = new Map([...cmap.matchAll(/<([0-9A-F]{4})> <([0-9A-F]+)>/gi)].map((m) => [m[1].toUpperCase(), String.fromCharCode(...m[2].match(/.{4}/g)!.map((h) => parseInt(h, 16)))]));
        return [String(key), { base: String(font.get(PDFName.of('BaseFont'))), chars }] as const;
      }),
  );

/**
 * The text of the first stamped label on a page, as a PDF viewer would extract it (through each font's
 * ToUnicode map), line by line, with the base font every character was drawn in.
 */
const firstLabel = (doc: PDFDocument, page: PDFPage) => {
  const fonts = pageFonts(doc, page);
  const ops = pageOps(doc, page);
  // The page's own text is a literal string in Helvetica; the stamp is hex glyph ids in Type0 fonts.
  const block = ops.match(/BT\n[^\n]+ Tm\n\/\S+ [\d.]+ Tf\n<[\s\S]*?\nET/)![0];
  const lines: { text: string; fonts: string[] }[] = [];
  let font = '';
  for (const m of block.matchAll(/ Tm\n|(\/\S+) [\d.]+ Tf\n|<([0-9A-F]*)> Tj/gi)) {
    if (m[0] === ' Tm\n') lines.push({ text: '', fonts: [] });
    else if (m[1]) font = m[1];
    else {
      const { base, chars } = fonts.get(font)!;
      for (const gid of m[2].match(/.{4}/g) ?? []) {
        lines[lines.length - 1].text += chars.get(gid.toUpperCase()) ?? '\u0000';
        lines[lines.length - 1].fonts.push(base);
      }
    }
  }
  return lines;
};

/** The FontFile2 streams embedded in a PDF, by the descriptor's font name ("/Arimo-9750"). */
const embeddedFontFiles = (doc: PDFDocument) =>
  [...doc.context.enumerateIndirectObjects()]
    .map(([, o]) => o)
    .filter((o): o is PDFDict => o instanceof PDFDict && String(o.get(PDFName.of('Type'))) === '/FontDescriptor')
    .map((d) => ({ name: String(d.get(PDFName.of('FontName'))), file: decoded(doc, d.get(PDFName.of('FontFile2'))) }));

/**
 * The watermark rendered by a fresh Node process that sees what a bare server has: no fonts.conf, so
 * fontconfig's built-in fallback configuration, and no font in any of its directories.
 * FONTCONFIG_SYSROOT=/nonexistent gives exactly that: fontconfig looks for its configuration and fonts
 * under the sysroot only. (An empty fonts.conf read from the child's stdin, FONTCONFIG_FILE=/dev/stdin, does
 * not: fontconfig reads the file more than once, finds it empty the second time and falls back to the
 * system's configuration.) The child loads the module's TypeScript through the compiler's transpileModule:
 * no build, no file written. First a control: the CJK font alone, as the module used it before the Latin
 * font was bundled, must draw Latin as missing-glyph boxes (with a system font, Latin would come from it).
 * Returns the control and, for each key of `texts`, the mean darkness it puts on a white 800 × 600 preview.
 */
const renderWithoutSystemFonts = (texts: Record<string, string>) => {
  const script = `
    const fs = require('fs');
    const ts = require('typescript');
    const [modulePath, texts] = JSON.parse(process.argv[1]);
    require.extensions['.ts'] = (m, file) =>
      m._compile(ts.transpileModule(fs.readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText, file);
    const sharp = require('sharp');
    const w = require(modulePath);
    const coverage = async (text) => {
      const alpha = await sharp({ text: { text, font: 'Droid Sans Fallback 40', fontfile: w.CJK_FONT_FILE, rgba: true, dpi: 72 } }).extractChannel('alpha').raw().toBuffer();
      return alpha.reduce((sum, v) => sum + v, 0) / alpha.length;
    };
    (async () => {
      const control = { dots: await coverage('......'), em: await coverage('MMMMMM') };
      const white = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#ffffff' } }).png().toBuffer();
      const ink = {};
      for (const [key, text] of Object.entries(texts)) {
        const grey = await sharp(await w.previewImage(white, { text, maxSize: 800 })).greyscale().raw().toBuffer();
        ink[key] = grey.reduce((sum, v) => sum + 255 - v, 0) / grey.length;
      }
      process.stdout.write(JSON.stringify({ control, ink }));
    })().catch((err) => { console.error(err); process.exit(1); });
  `;
  const env: NodeJS.ProcessEnv = { ...process.env, FONTCONFIG_SYSROOT: '/nonexistent' };
  delete env.FONTCONFIG_FILE;
  delete env.FONTCONFIG_PATH;
  // No user fonts either (~/.fonts, ~/.local/share/fonts), and nowhere for fontconfig to write a cache.
  for (const dir of ['HOME', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME']) env[dir] = '/nonexistent';
  const child = spawnSync(process.execPath, ['-e', script, JSON.stringify([MODULE, texts])], { cwd: path.resolve(__dirname, '../../..'), env, encoding: 'utf8', timeout: 60000 });
  if (child.status !== 0) throw new Error(`child failed (${child.status}): ${child.stderr}`);
  return { ...(JSON.parse(child.stdout) as { control: { dots: number; em: number }; ink: Record<string, number> }), stderr: child.stderr };
};

describe('watermarkText', () => {
  test('viewer, minute in Asia/Shanghai by default, bilingual notice', () => {
    expect(watermarkText(VIEWER, AT)).toBe('测试员 Test · 2025-01-02 09:41 · 仅供内部使用 · internal use only');
    expect(watermarkText('viewer@example.test', new Date('2025-12-31T16:05:00Z'))).toBe('viewer@example.test · 2026-01-01 00:05 · 仅供内部使用 · internal use only');
  });

  test('the configured time zone decides; an unknown zone falls back to Asia/Shanghai', () => {
    expect(watermarkText(VIEWER, AT, 'UTC')).toContain('· 2025-01-02 01:41 ·');
    expect(watermarkText(VIEWER, AT, 'Europe/Berlin')).toContain('· 2025-01-02 02:41 ·');
    expect(watermarkText(VIEWER, AT, ':/etc/localtime')).toContain('· 2025-01-02 09:41 ·');
  });

  test('control, bidi and zero-width characters become single spaces; long names are cut; an empty one is refused', () => {
    expect(watermarkText(' 测试员\u202E\u0000Test\n\u200B x ', AT).split(' · ')[0]).toBe('测试员 Test x');
    const long = watermarkText('x'.repeat(200), AT).split(' · ')[0];
    expect([...long]).toHaveLength(64);
    expect(long.endsWith('…')).toBe(true);
    expect(() => watermarkText(' \u200B\n', AT)).toThrow(TypeError);
  });
});

describe('the fonts', () => {
  test('Droid Sans Fallback has every CJK character of the notice and no Latin letters', () => {
    const font = fontkit.create(fs.readFileSync(CJK_FONT_FILE));
    expect(font.familyName).toBe('Droid Sans Fallback');
    for (const ch of `${NOTICE_CJK}测试员张三`) expect(font.hasGlyphForCodePoint(ch.codePointAt(0)!)).toBe(true);
    for (const ch of 'Aa@·') expect(font.hasGlyphForCodePoint(ch.codePointAt(0)!)).toBe(false);
  });

  test('Arimo has Latin (letters, digits, the separator, e-mail and markup characters, the ellipsis) and no CJK', () => {
    const font = fontkit.create(fs.readFileSync(LATIN_FONT_FILE));
    expect(font.familyName).toBe('Arimo');
    const latin = `${NOTICE_LATIN} ${MIXED} 0123456789-:…&\uFFFD ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz`.replace(/[\u4e00-\u9fff]/g, '');
    for (const ch of latin) expect([ch, font.hasGlyphForCodePoint(ch.codePointAt(0)!)]).toEqual([ch, true]);
    for (const ch of `${NOTICE_CJK}张三`) expect(font.hasGlyphForCodePoint(ch.codePointAt(0)!)).toBe(false);
  });

  test('each font is named, with its licence, in the fonts folder README', () => {
    const dir = path.dirname(LATIN_FONT_FILE);
    const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    for (const [file, licence] of [[LATIN_FONT_FILE, 'LICENSE-OFL-1.1.txt'], [CJK_FONT_FILE, 'LICENSE-Apache-2.0.txt']]) {
      expect(readme).toContain(path.basename(file));
      expect(readme).toContain(licence);
      expect(fs.existsSync(path.join(dir, licence))).toBe(true);
    }
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

  test('Latin letters render too', async () => {
    const [dots, em] = await Promise.all(['......', 'MMMMMM'].map(ink));
    expect(em / dots).toBeGreaterThan(3);
  });

  test('with no fontconfig configuration and no fonts, Latin and CJK still render as glyphs, from the bundled fonts alone', async () => {
    const label = watermarkText(MIXED, AT);
    const { control, ink: dark, stderr } = renderWithoutSystemFonts({
      dots: '......',
      em: 'MMMMMM',
      one: '一一一一一一',
      dense: '鑫鑫鑫鑫鑫鑫',
      light: '...... 一一一一一一',
      heavy: 'MMMMMM 鑫鑫鑫鑫鑫鑫',
      label,
    });
    // The control: no font here has Latin but ours, so without it "M" and "." are the same box.
    expect(control.em / control.dots).toBeLessThan(1.5);
    expect(dark.em / dark.dots).toBeGreaterThan(3);
    expect(dark.dense / dark.one).toBeGreaterThan(3);
    // Both fonts within one label: boxes would make the light line about as dark as the heavy one.
    expect(dark.heavy / dark.light).toBeGreaterThan(3);
    // A whole label about as dark as here, where fontconfig has system fonts (hinting settings differ).
    const here = await ink(label);
    expect(dark.label / here).toBeGreaterThan(0.85);
    expect(dark.label / here).toBeLessThan(1.15);
    expect(stderr).not.toMatch(/unable to load fontfile/i);
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
    // Drawn as the characters they are.
    expect(firstLabel(pdf, pdf.getPage(0))[0].text).toContain('测试员 <b>&');
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
      const keys = [...pageFonts(after, page)];
      for (const name of ['Arimo', 'DroidSansFallback']) expect(ops).toContain(`${keys.find(([, f]) => f.base.includes(name))![0]} `);
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

  test('a mixed name is drawn in full: Latin in Arimo, CJK in Droid Sans Fallback, nothing in Helvetica, no "?"', async () => {
    const label = watermarkText(MIXED, AT);
    expect(label).not.toMatch(/[?\uFFFD]/);
    const doc = await PDFDocument.load(await watermarkPdf(await threePages(), label));
    for (const page of doc.getPages()) {
      const lines = firstLabel(doc, page);
      // The label, line by line as twoLines() broke it at a separator, with no character substituted.
      expect(lines.map((l) => l.text).join(' · ')).toBe(label);
      for (const { text: line, fonts } of lines) {
        [...line].forEach((ch, k) => {
          const expected = ch === ' ' ? /Arimo|DroidSansFallback/ : /[\u4e00-\u9fff]/.test(ch) ? /DroidSansFallback/ : /Arimo/;
          expect([ch, fonts[k]]).toEqual([ch, expect.stringMatching(expected)]);
        });
      }
    }
  });

  test('a character neither font has becomes U+FFFD in Arimo, not a "?" or a .notdef box', async () => {
    const doc = await PDFDocument.load(await watermarkPdf(await threePages(), watermarkText('Test \u{1F600} 张三', AT)));
    const [line] = firstLabel(doc, doc.getPage(0));
    expect(line.text.startsWith('Test \uFFFD 张三 · ')).toBe(true);
    expect(line.fonts[5]).toMatch(/Arimo/);
  });

  test('embeds a subset of each font, with the right outlines', async () => {
    const source = await threePages();
    const label = watermarkText(MIXED, AT);
    const out = await watermarkPdf(source, label);
    expect(out.length - source.length).toBeLessThan(100 * 1024);
    const files = embeddedFontFiles(await PDFDocument.load(out));
    expect(files.map((f) => f.name.replace(/-\d+$/, '')).sort()).toEqual(['/Arimo', '/DroidSansFallback']);
    for (const [name, original, chars] of [
      ['/Arimo', LATIN_FONT_FILE, label.replace(/[\u4e00-\u9fff ]/g, '')],
      ['/DroidSansFallback', CJK_FONT_FILE, `${NOTICE_CJK}张三`],
    ] as const) {
      const { file } = files.find((f) => f.name.startsWith(`${name}-`))!;
      expect(file.length).toBeLessThan(20 * 1024);
      // @pdf-lib/fontkit's subsetter shifts glyphs after an odd-length one unless the font is padded first;
      // Arimo's accented letters are composite glyphs, whose component ids the subsetter rewrites.
      const subset = fontkit.create(file);
      const outlines = new Set(Array.from({ length: subset.numGlyphs }, (_, g) => subset.getGlyph(g).path.toSVG()));
      const full = fontkit.create(fs.readFileSync(original));
      for (const ch of chars) expect([ch, outlines.has(full.glyphForCodePoint(ch.codePointAt(0)!).path.toSVG())]).toEqual([ch, true]);
    }
  });
});
