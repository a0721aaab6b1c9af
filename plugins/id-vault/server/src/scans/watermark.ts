import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import fontkit, { type Font } from '@pdf-lib/fontkit';
import {
  PDFDocument,
  beginText,
  endText,
  popGraphicsState,
  pushGraphicsState,
  setFillingGrayscaleColor,
  setFontAndSize,
  setGraphicsState,
  setTextMatrix,
  showText,
  type PDFFont,
  type PDFName,
  type PDFOperator,
  type PDFPage,
} from 'pdf-lib';

/**
 * Per-viewer watermarks on scan previews: who looked, when, and that it is for internal use, tiled
 * diagonally over the whole image or every PDF page so a screenshot or a printout still names its viewer.
 * Pure: no Strapi, no temp files, everything in memory.
 *
 * Both fonts ship with the plugin (licences and sources in assets/fonts/README.md), so a label renders
 * the same on a server with no system font at all: Arimo (OFL-1.1) for Latin, Greek, Cyrillic, Droid
 * Sans Fallback (Apache-2.0) for Chinese, Japanese and Korean. Neither covers the other's script (they
 * share only the space), so every label needs both: images ask pango for the two families in that order,
 * PDFs split each line into runs of the font that has the glyphs.
 * `assets/` is three levels up from both server/src/scans and dist/server/scans.
 */
const FONT_DIR = path.resolve(__dirname, '../../../assets/fonts');
export const LATIN_FONT_FILE = path.join(FONT_DIR, 'Arimo-Regular.ttf');
export const CJK_FONT_FILE = path.join(FONT_DIR, 'DroidSansFallbackFull.ttf');
/**
 * The family names in the fonts' name tables, Latin first: pango takes each character from the first
 * family that has it, and only then from fontconfig's own fallback (system fonts, where there are any).
 */
const FONT_FAMILIES = 'Arimo,Droid Sans Fallback';

const NOTICE = '仅供内部使用 · internal use only';
const SEPARATOR = ' · ';
/** The default time zone of stamps: the back office works in China time. */
const DEFAULT_TIME_ZONE = 'Asia/Shanghai';
/** Long enough for names and e-mail addresses; bounds the size of the rendered label. */
const MAX_VIEWER_CHARS = 64;

/** Angle of the text, counter-clockwise: it rises to the right. */
const ANGLE = 30;
/** Dark ink on a lighter halo reads on white paper and on a dark photo alike. */
const INK = { grey: 40, alpha: 0.5 };
const HALO = { grey: 255, alpha: 0.35 };

const timeFormat = (timeZone: string) =>
  new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

/**
 * The stamp's format in `timeZone` (the plugin's scans.timeZone, ID_VAULT_TIME_ZONE): explicit rather
 * than Intl's default, which is the container's (usually UTC). An unknown zone falls back to the default
 * instead of failing every preview (the config validator refuses one at start-up anyway).
 */
const stampFormat = (timeZone: string): Intl.DateTimeFormat => {
  try {
    return timeFormat(timeZone);
  } catch {
    return timeFormat(DEFAULT_TIME_ZONE);
  }
};

const minuteStamp = (at: Date, timeZone: string): string => {
  const part = Object.fromEntries(stampFormat(timeZone).formatToParts(at).map((p) => [p.type, p.value]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}`;
};

/**
 * Control, format (bidi overrides, zero-width) and separator characters become one space: they could
 * reorder or hide the name, and pango markup rejects control characters.
 */
const cleanViewer = (viewer: string): string => {
  const chars = [...viewer.replace(/[\p{Cc}\p{Cf}\p{Z}]+/gu, ' ').trim()];
  if (!chars.length) throw new TypeError('id-vault: a watermark needs the viewer');
  return chars.length > MAX_VIEWER_CHARS ? `${chars.slice(0, MAX_VIEWER_CHARS - 1).join('')}…` : chars.join('');
};

/**
 * `${viewer} · YYYY-MM-DD HH:mm · 仅供内部使用 · internal use only`, the time in `timeZone` (default
 * Asia/Shanghai). Minute precision, so a viewer's label, and its rendered tile, lasts a minute.
 */
export const watermarkText = (viewer: string, at: Date, timeZone = DEFAULT_TIME_ZONE): string =>
  [cleanViewer(viewer), minuteStamp(at, timeZone), NOTICE].join(SEPARATOR);

/** Two lines broken at the separator nearest the middle: a shorter label tiles more densely. */
const twoLines = (text: string): string[] => {
  const parts = text.split(SEPARATOR);
  const split = (k: number) => [parts.slice(0, k).join(SEPARATOR), parts.slice(k).join(SEPARATOR)];
  const imbalance = (k: number) => Math.abs(split(k)[0].length - split(k)[1].length);
  let best = 1;
  for (let k = 2; k < parts.length; k++) if (imbalance(k) < imbalance(best)) best = k;
  return parts.length < 2 ? [text] : split(best);
};

// ---- images ----

/** sharp's text input is always parsed as Pango markup: a name like "<b>&" would fail or inject tags. */
const escapeMarkup = (s: string): string => s.replace(/[\p{Cc}]/gu, ' ').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Text height in pixels for an output whose longer side is `long`: ~11 px on a 320 px thumbnail, ~29 px at 1600. */
const fontPx = (long: number): number => Math.max(11, Math.min(40, Math.round(long / 55)));

/**
 * sharp's text.fontfile takes one file, which libvips adds to fontconfig's process-wide configuration
 * (FcConfigAppFontAddFile on the default config, once per path, before the layout) where it stays for
 * every later render. So the Latin font is registered once by a one-character render, before the first
 * label, and labels name the CJK font as their fontfile: from then on both are application fonts, found
 * by family name with no fontconfig configuration file, font directory or cache. Nothing is written.
 */
let latinFont: Promise<unknown> | null = null;
const registerLatinFont = () =>
  (latinFont ??= sharp({ text: { text: '.', font: 'Arimo 8', fontfile: LATIN_FONT_FILE } })
    .raw()
    .toBuffer()
    .catch((err: unknown) => {
      latinFont = null;
      throw err;
    }));

/** The label's coverage (0–255 per pixel) as rendered by pango at 72 dpi, where a point is a pixel. */
const renderMask = async (text: string, px: number) => {
  await registerLatinFont();
  const { data, info } = await sharp({
    text: { text: twoLines(text).map(escapeMarkup).join('\n'), font: `${FONT_FAMILIES} ${px}`, fontfile: CJK_FONT_FILE, rgba: true, dpi: 72, align: 'centre' },
  })
    .extractChannel('alpha')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { mask: data, width: info.width, height: info.height };
};

/** Grey-level dilation by a (2r+1)² square, in two separable passes (sharp's dilate wants a binary image). */
const dilate = (mask: Buffer, width: number, height: number, r: number): Uint8Array => {
  const pass = (src: Uint8Array, at: (i: number, k: number) => number, n: number, len: number) => {
    const out = new Uint8Array(src.length);
    for (let line = 0; line < n; line++) {
      for (let k = 0; k < len; k++) {
        let m = 0;
        for (let d = Math.max(0, k - r); d <= Math.min(len - 1, k + r); d++) m = Math.max(m, src[at(line, d)]);
        out[at(line, k)] = m;
      }
    }
    return out;
  };
  const rows = pass(mask, (y, x) => y * width + x, height, width);
  return pass(rows, (x, y) => y * width + x, width, height);
};

/** Ink over halo as straight-alpha RGBA, with `pad` transparent pixels around: the gap between repeats. */
const paint = (mask: Buffer, width: number, height: number, px: number) => {
  const halo = dilate(mask, width, height, Math.max(1, Math.round(px / 12)));
  const pad = px;
  const W = width + 2 * pad;
  const H = height + 2 * pad;
  const out = Buffer.alloc(W * H * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const ai = (mask[y * width + x] / 255) * INK.alpha;
      const ah = (halo[y * width + x] / 255) * HALO.alpha * (1 - ai);
      const a = ai + ah;
      if (!a) continue;
      const o = ((y + pad) * W + x + pad) * 4;
      out.fill(Math.round((INK.grey * ai + HALO.grey * ah) / a), o, o + 3);
      out[o + 3] = Math.round(a * 255);
    }
  }
  return { data: out, width: W, height: H };
};

/** The ink and halo pixels of a tile (straight alpha); most of a tile is transparent, so only these are blended. */
interface Tile {
  width: number;
  height: number;
  x: Uint16Array;
  y: Uint16Array;
  grey: Uint8Array;
  alpha: Uint8Array;
}

const sparse = (rgba: Buffer, width: number, height: number): Tile => {
  const at: number[] = [];
  for (let i = 0; i < width * height; i++) if (rgba[i * 4 + 3]) at.push(i);
  const pick = (f: (i: number) => number) => at.map(f);
  return {
    width,
    height,
    x: Uint16Array.from(pick((i) => i % width)),
    y: Uint16Array.from(pick((i) => Math.floor(i / width))),
    grey: Uint8Array.from(pick((i) => rgba[i * 4])),
    alpha: Uint8Array.from(pick((i) => rgba[i * 4 + 3])),
  };
};

/** One label, rotated (sharp turns clockwise, hence −ANGLE) on a transparent ground; repeated it makes the diagonals. */
const renderTile = async (text: string, px: number): Promise<Tile> => {
  const { mask, width, height } = await renderMask(text, px);
  const flat = paint(mask, width, height, px);
  const { data, info } = await sharp(flat.data, { raw: { width: flat.width, height: flat.height, channels: 4 } })
    .rotate(-ANGLE, { background: { r: 0, g: 0, b: 0, alpha: 0 } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return sparse(data, info.width, info.height);
};

/**
 * Rendered tiles by (font size, text), least recently used first out. The text changes per viewer and
 * minute, so hits come from one viewer paging through scans; a 1600 px tile is about 100 kB.
 */
const MAX_TILES = 32;
const tiles = new Map<string, Promise<Tile>>();
const tileFor = (text: string, px: number): Promise<Tile> => {
  const key = `${px}\n${text}`;
  let tile = tiles.get(key);
  if (tile) tiles.delete(key);
  else {
    const rendering = renderTile(text, px);
    rendering.catch(() => tiles.get(key) === rendering && tiles.delete(key));
    tile = rendering;
  }
  tiles.set(key, tile);
  if (tiles.size > MAX_TILES) tiles.delete(tiles.keys().next().value as string);
  return tile;
};

/**
 * Blends the tile, repeated from the top-left corner, "over" raw 8-bit pixels in place (any channel
 * count: the ink is grey). Done here rather than with sharp's composite(tile: true), which adds an alpha
 * band before the resize, premultiplies the whole image and blends every pixel in float: 2–3× the cost
 * of the preview itself, against a few milliseconds for the 10–20 % of pixels a tile touches.
 */
const stampPixels = (pixels: Buffer, info: { width: number; height: number; channels: number }, tile: Tile) => {
  const { width, height, channels } = info;
  for (let oy = 0; oy < height; oy += tile.height) {
    for (let ox = 0; ox < width; ox += tile.width) {
      for (let k = 0; k < tile.alpha.length; k++) {
        const x = ox + tile.x[k];
        const y = oy + tile.y[k];
        if (x >= width || y >= height) continue;
        const a = tile.alpha[k];
        const ink = tile.grey[k] * a + 127;
        for (let c = 0, i = (y * width + x) * channels; c < channels; c++, i++) pixels[i] = (pixels[i] * (255 - a) + ink) / 255;
      }
    }
  }
};

/** Fit inside maxSize × maxSize, never enlarged; transparency goes on white (JPEG has none; black would hide the scan). */
const resized = (bytes: Buffer, maxSize: number) =>
  sharp(bytes).flatten({ background: '#ffffff' }).resize(maxSize, maxSize, { fit: 'inside', withoutEnlargement: true });

/** A JPEG preview without watermark: the baseline that previewImage's cost is measured against. */
export const plainPreview = (bytes: Buffer, maxSize: number): Promise<Buffer> => resized(bytes, maxSize).jpeg().toBuffer();

/**
 * A JPEG preview of a cleaned image, fitting maxSize × maxSize (never enlarged), with `text` tiled
 * diagonally over all of it; the font size follows the output size. The tile (cached) is rendered while
 * the image is decoded and resized.
 */
export const previewImage = async (bytes: Buffer, opts: { text: string; maxSize: number }): Promise<Buffer> => {
  const { width, height } = await sharp(bytes).metadata();
  const [tile, { data, info }] = await Promise.all([
    tileFor(opts.text, fontPx(Math.min(Math.max(width, height), opts.maxSize))),
    resized(bytes, opts.maxSize).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }),
  ]);
  stampPixels(data, info, tile);
  return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).jpeg().toBuffer();
};

// ---- PDFs ----

/** Vector text needs no halo: the same grey, a little lighter, over whatever the page shows. */
const PDF_INK = { grey: INK.grey / 255, opacity: 0.35 };

const align4 = (n: number) => (n + 3) & ~3;

/**
 * OpenType layout tables, of no use to pdf-lib: it draws each glyph at its advance width, ignoring
 * positioning (GPOS: Arimo's kern, mark, mkmk), and neither font substitutes a glyph in horizontal text
 * (GSUB: Arimo's ccmp changes none for Latin-1 to Latin Extended-B, Greek, Cyrillic, Hebrew or combining
 * marks; Droid Sans Fallback's vert is vertical). The subset pdf-lib embeds never had them; dropped here,
 * they save fontkit's shaper 20–35 ms for Arimo and about 10 for Droid Sans Fallback on every PDF.
 */
const LAYOUT_TABLES = new Set(['GDEF', 'GPOS', 'GSUB']);

/**
 * The font as pdf-lib gets it: without layout tables, and with every glyph padded to an even length.
 * @pdf-lib/fontkit 1.1.1 (a fork of fontkit 1.7) writes a small subset's loca table in the short format,
 * offsets halved, without padding the glyphs (foliojs/fontkit#191, fixed upstream in 1.8; the fork never
 * took it). Droid Sans Fallback has a long loca and odd-length glyphs, so every glyph after an odd one came
 * out a byte off: broken outlines in the PDF and no error. Arimo's glyphs are all of even length: its glyf
 * and loca stay as they are. Table checksums are left stale: fontkit does not read them, and the subset it
 * writes has its own.
 */
const forPdfLib = (ttf: Buffer): Buffer => {
  const tables = Array.from({ length: ttf.readUInt16BE(4) }, (_, i) => {
    const record = 12 + 16 * i;
    const offset = ttf.readUInt32BE(record + 8);
    return { record, tag: ttf.toString('latin1', record, record + 4), data: ttf.subarray(offset, offset + ttf.readUInt32BE(record + 12)) };
  }).filter((t) => !LAYOUT_TABLES.has(t.tag));
  const table = (tag: string) => tables.find((t) => t.tag === tag)!.data;
  const loca = table('loca');
  const glyf = table('glyf');
  const count = table('maxp').readUInt16BE(4);
  // A short loca can only point at even offsets: nothing to pad.
  const long = table('head').readInt16BE(50) === 1;
  const length = (g: number) => loca.readUInt32BE(4 * g + 4) - loca.readUInt32BE(4 * g);
  if (long && Array.from({ length: count }, (_, g) => length(g)).some((n) => n & 1)) {
    const newLoca = Buffer.alloc(4 * (count + 1));
    for (let g = 0; g < count; g++) newLoca.writeUInt32BE(newLoca.readUInt32BE(4 * g) + length(g) + (length(g) & 1), 4 * g + 4);
    const newGlyf = Buffer.alloc(newLoca.readUInt32BE(4 * count));
    for (let g = 0; g < count; g++) glyf.copy(newGlyf, newLoca.readUInt32BE(4 * g), loca.readUInt32BE(4 * g), loca.readUInt32BE(4 * g + 4));
    for (const t of tables) t.data = t.tag === 'glyf' ? newGlyf : t.tag === 'loca' ? newLoca : t.data;
  }
  const header = 12 + 16 * tables.length;
  const out = Buffer.alloc(header + tables.reduce((n, t) => n + align4(t.data.length), 0));
  ttf.copy(out, 0, 0, 12);
  out.writeUInt16BE(tables.length, 4);
  // searchRange, entrySelector, rangeShift: fontkit ignores them; kept consistent with the new count anyway.
  const power = 2 ** Math.floor(Math.log2(tables.length));
  out.writeUInt16BE(16 * power, 6);
  out.writeUInt16BE(Math.log2(power), 8);
  out.writeUInt16BE(16 * (tables.length - power), 10);
  let offset = header;
  tables.forEach((t, i) => {
    const record = 12 + 16 * i;
    ttf.copy(out, record, t.record, t.record + 8); // tag and checksum
    out.writeUInt32BE(offset, record + 8);
    out.writeUInt32BE(t.data.length, record + 12);
    t.data.copy(out, offset);
    offset += align4(t.data.length);
  });
  return out;
};

/** A font file as pdf-lib embeds it, and the same bytes parsed once for glyph coverage. */
interface FontSource {
  bytes: Buffer;
  face: Font;
}

const readFont = async (file: string): Promise<FontSource> => {
  const bytes = forPdfLib(await fs.promises.readFile(file));
  return { bytes, face: fontkit.create(bytes) };
};

/**
 * Read and prepared once, on the first PDF, Latin first (the order runs() tries them in): 4.5 MB the
 * process keeps only if it stamps PDFs. A failed read is retried on the next PDF.
 */
let fontSources: Promise<FontSource[]> | null = null;
const loadFonts = () =>
  (fontSources ??= Promise.all([readFont(LATIN_FONT_FILE), readFont(CJK_FONT_FILE)]).catch((err: unknown) => {
    fontSources = null;
    throw err;
  }));

/** An embedded font and whether it has a glyph for a code point (fontkit's cmap lookup, not pdf-lib's encoder). */
interface PdfFont {
  font: PDFFont;
  has: (codePoint: number) => boolean;
}

interface Run {
  font: PDFFont;
  text: string;
}

/** What a character no font has is drawn as: the replacement character, from the Latin font. */
const REPLACEMENT = '\uFFFD';

/**
 * Splits a line into runs of one font each: every character from the first font that has its glyph
 * (Latin, then CJK, as pango does for images), U+FFFD from the first font for a character neither has
 * (pdf-lib would draw the .notdef box). Spaces, which both fonts have, stay in the current run.
 */
const runs = (line: string, fonts: PdfFont[]): Run[] => {
  const out: Run[] = [];
  for (const ch of line) {
    const last = out[out.length - 1];
    if (ch === ' ' && last) last.text += ch;
    else {
      const cp = ch.codePointAt(0)!;
      const covering = fonts.find((f) => f.has(cp));
      const font = (covering ?? fonts[0]).font;
      const text = covering ? ch : REPLACEMENT;
      if (last?.font === font) last.text += text;
      else out.push({ font, text });
    }
  }
  return out;
};

const runsWidth = (line: Run[], size: number) => line.reduce((w, r) => w + r.font.widthOfTextAtSize(r.text, size), 0);

/**
 * The label's text operators at (s, t) in the rotated frame, one text object per label: each run only
 * switches the font, since showing text already advances the position by the run's width.
 */
const labelOps = (lines: Run[][], size: number, key: (f: PDFFont) => PDFName) => {
  const encoded = lines.map((line) => line.map((r) => [setFontAndSize(key(r.font), size), showText(r.font.encodeText(r.text))]).flat());
  const widths = lines.map((line) => runsWidth(line, size));
  const width = Math.max(...widths);
  const lineHeight = size * 1.25;
  return {
    width,
    height: lines.length * lineHeight,
    at: (s: number, t: number, u: number[], v: number[]): PDFOperator[] => [
      beginText(),
      ...lines.flatMap((_, n) => {
        const along = s + (width - widths[n]) / 2;
        const across = t - n * lineHeight;
        return [setTextMatrix(u[0], u[1], v[0], v[1], along * u[0] + across * v[0], along * u[1] + across * v[1]), ...encoded[n]];
      }),
      endText(),
    ],
  };
};

/**
 * Repeats the label over the whole media box on a lattice along the text direction, every other row
 * shifted by half a step. About 19 pt on A4 (a 32nd of the short side). The angle adds the page's /Rotate
 * so the text rises to the right as the page is shown.
 */
const stampPage = (doc: PDFDocument, page: PDFPage, text: string, fonts: PdfFont[]) => {
  const box = page.getMediaBox();
  const size = Math.max(6, Math.min(box.width, box.height) / 32);
  const keys = new Map(fonts.map(({ font }) => [font, page.node.newFontDictionary(font.name, font.ref)]));
  const label = labelOps(twoLines(text).map((l) => runs(l, fonts)), size, (f) => keys.get(f)!);
  const theta = ((ANGLE + page.getRotation().angle) * Math.PI) / 180;
  const u = [Math.cos(theta), Math.sin(theta)];
  const v = [-Math.sin(theta), Math.cos(theta)];
  const stepU = label.width + 3 * size;
  const stepV = label.height + 4 * size;
  const corners = [[box.x, box.y], [box.x + box.width, box.y], [box.x, box.y + box.height], [box.x + box.width, box.y + box.height]];
  const range = (axis: number[], step: number) => {
    const d = corners.map(([x, y]) => x * axis[0] + y * axis[1]);
    return [Math.floor(Math.min(...d) / step) - 1, Math.ceil(Math.max(...d) / step) + 1];
  };
  const [u0, u1] = range(u, stepU);
  const [v0, v1] = range(v, stepV);
  const gs = page.node.newExtGState('GS', doc.context.obj({ Type: 'ExtGState', ca: PDF_INK.opacity }));
  const ops = [pushGraphicsState(), setGraphicsState(gs), setFillingGrayscaleColor(PDF_INK.grey)];
  for (let j = v0; j <= v1; j++) {
    for (let i = u0; i <= u1; i++) ops.push(...label.at((i + (j & 1) / 2) * stepU, j * stepV, u, v));
  }
  ops.push(popGraphicsState());
  page.pushOperators(...ops);
};

/**
 * Stamps `text` diagonally, semi-transparent, over every page of a PDF. Both fonts are embedded as
 * subsets (only the glyphs drawn: kilobytes, not 4.5 MB), so the stamp looks the same in every viewer,
 * whatever fonts the viewer's machine has. pdf-lib wraps each page's existing content in q/Q first, so a page's own
 * transforms cannot move the stamp.
 */
export const watermarkPdf = async (bytes: Buffer, text: string): Promise<Buffer> => {
  // updateMetadata: false keeps the cleaned info dictionary as it is (pdf-lib would add itself as producer).
  const doc = await PDFDocument.load(bytes, { updateMetadata: false });
  doc.registerFontkit(fontkit);
  const fonts: PdfFont[] = [];
  for (const source of await loadFonts()) fonts.push({ font: await doc.embedFont(source.bytes, { subset: true }), has: (cp) => source.face.hasGlyphForCodePoint(cp) });
  for (const page of doc.getPages()) stampPage(doc, page, text, fonts);
  const out = await doc.save();
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
};
