'use strict';
/**
 * Scan benchmarks (figures 7–10 of `npm run bench`), each against a baseline measured in the same run, on
 * the compiled plugin (plugins/id-vault/dist/server):
 *   7. intake of a 12 MP JPEG (sniff, rotate, strip, seal, store on local disk) vs bare sharp decode +
 *      re-encode of the same file (target <= 1.3); and of the same photo in portrait (Orientation 6), where
 *      the intake also turns the pixels
 *   8. watermarked 1600 px preview vs the same preview without watermark (target <= 1.3)
 *   9. streamed decrypt of a 10 MB object from disk vs reading the file (throughput ratio; target >= 0.5)
 *  10. peak RSS growth while one 10 MB upload goes through the intake pipeline (multipart parse in memory,
 *      clean, seal into the store) in a fresh process, as a multiple of the file (target <= 3), for a JPEG
 *      (landscape, and portrait: Orientation 6, turned), and a PDF, beside what the format's library alone
 *      takes for the same file. The files are made by this process; the child only reads one from disk.
 *      Peak is the kernel's VmHWM (reset with /proc/self/clear_refs after the child's modules are loaded
 *      and a GC), not a sample, so nothing between samples is missed; no GC is forced during the upload.
 * Prints BENCH_SCANS {json} last. Run alone: `node bench/scans-bench.js`.
 */
const fs = require('fs');
const path = require('path');
const { randomBytes } = require('crypto');
const { pipeline } = require('stream/promises');
const { Writable } = require('stream');
const { spawnSync } = require('child_process');

const DIST = path.join(__dirname, '..', 'plugins', 'id-vault', 'dist', 'server');
const sharp = require('sharp');
const { cleanScan } = require(path.join(DIST, 'scans', 'intake'));
const { previewImage, plainPreview, watermarkText } = require(path.join(DIST, 'scans', 'watermark'));
const { createScanStore, newObjectName } = require(path.join(DIST, 'scans', 'store'));
const { readFiles } = require(path.join(DIST, 'scans', 'multipart'));
const { sealObject, sealedStream, decryptStream, objectDigest } = require(path.join(DIST, 'crypto'));

const MB = 1024 * 1024;
const WORK = path.join(__dirname, '..', '.tmp', `bench-scans-${process.pid}`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = () => Number(process.hrtime.bigint()) / 1e6;
const fmt = (x, d = 2) => x.toFixed(d);

/** Alternates a and b `rounds` times (after a warm-up of each) and returns both medians in ms. */
const compare = async (a, b, rounds) => {
  await a();
  await b();
  const ta = [];
  const tb = [];
  for (let i = 0; i < rounds; i++) {
    let t = now();
    await a();
    ta.push(now() - t);
    t = now();
    await b();
    tb.push(now() - t);
  }
  return { a: median(ta), b: median(tb) };
};

/** A believable 12 MP photo: smooth colour fields with sensor-like noise (pure noise would not compress like a photo). */
const photo = async (width, height) => {
  const base = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#7a8fa6' } })
    .composite([{ input: Buffer.from(`<svg width="400" height="300"><defs><linearGradient id="g"><stop offset="0" stop-color="#d9c7a3"/><stop offset="1" stop-color="#3d5a80"/></linearGradient></defs><rect width="400" height="300" fill="url(#g)"/><circle cx="200" cy="150" r="90" fill="#e0b084"/></svg>`) }])
    .removeAlpha()
    .png()
    .toBuffer();
  const big = await sharp(base).resize(width, height).raw().toBuffer({ resolveWithObject: true });
  const noise = await sharp({ create: { width, height, channels: 3, noise: { type: 'gaussian', mean: 0, sigma: 6 } } }).raw().toBuffer();
  for (let i = 0; i < big.data.length; i++) big.data[i] = Math.min(255, big.data[i] + noise[i] - 3);
  return sharp(big.data, { raw: big.info }).jpeg({ quality: 90 }).toBuffer();
};

/** The same encode as the intake's (scans/intake.ts): no Huffman optimisation, which needs the whole image. */
const JPEG_OUT = { quality: 90, optimiseCoding: false };

const rssChild = (kind, bare = false) => {
  const run = spawnSync(process.execPath, ['--expose-gc', __filename, '--rss', kind, ...(bare ? ['bare'] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BENCH_SCANS_WORK: WORK } });
  const line = (run.stdout || '').split('\n').find((l) => l.startsWith('RSS '));
  if (!line) throw new Error(`rss child (${kind}) failed: exit ${run.status}`);
  return JSON.parse(line.slice(4));
};

const BOUNDARY = 'idvbench';

/** The ~10 MB files of figure 10, written once by the parent: a noisy 16 MP photo, the same in portrait, a PDF. */
const rssFiles = async () => {
  const jpeg = await sharp({ create: { width: 4600, height: 3450, channels: 3, noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg({ quality: 82 }).toBuffer();
  const portrait = await sharp(jpeg).withMetadata({ orientation: 6 }).jpeg({ quality: 82 }).toBuffer();
  const { PDFDocument, PDFName } = require('pdf-lib');
  const doc = await PDFDocument.create();
  const page = doc.addPage([595, 842]);
  page.drawText('id-vault bench', { x: 50, y: 800, size: 12 });
  // A PDF of about 10 MB: an embedded stream of incompressible bytes.
  doc.catalog.set(PDFName.of('IdvBench'), doc.context.register(doc.context.stream(randomBytes(Math.floor(9.5 * MB)))));
  const files = { jpeg, portrait, pdf: Buffer.from(await doc.save()) };
  const head = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="x"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  for (const [kind, bytes] of Object.entries(files)) {
    fs.writeFileSync(path.join(WORK, `upload.${kind}`), bytes);
    fs.writeFileSync(path.join(WORK, `upload.${kind}.multipart`), Buffer.concat([head, bytes, tail]));
  }
};

const statusBytes = (field) => Number(fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))[1]) * 1024;

/**
 * In a fresh process: one upload of a ~10 MB file from disk through the pipeline; `bare`: only what the
 * format's library does to the same bytes anyway (sharp decode, turn if EXIF says so, re-encode as the
 * intake does; pdf-lib load + save). Growth is VmHWM over VmRSS at the start, both after the modules.
 */
const rssRun = async (kind, bare) => {
  const work = process.env.BENCH_SCANS_WORK;
  const file = path.join(work, `upload.${kind}`);
  const size = fs.statSync(file).size;
  const store = createScanStore({ store: 'local', dir: path.join(work, `store-${process.pid}`) });
  const key = { id: 'dk_bench', key: randomBytes(32) };
  global.gc();
  await new Promise((r) => setTimeout(r, 200));
  global.gc();
  fs.writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
  const base = statusBytes('VmRSS');
  if (bare) {
    const input = fs.readFileSync(file);
    if (kind === 'pdf') await require('pdf-lib').PDFDocument.load(input, { updateMetadata: false }).then((d) => d.save());
    else await sharp(input).rotate().jpeg(JPEG_OUT).toBuffer();
  } else {
    const body = `${file}.multipart`; // the request body as it arrives, read in 64 KiB chunks
    const req = Object.assign(fs.createReadStream(body), { headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': String(fs.statSync(body).size) } });
    const [upload] = await readFiles(req, { maxFileBytes: 12 * MB, maxFiles: 10 });
    const cleaned = await cleanScan(upload, { maxPixels: 50_000_000 });
    const name = newObjectName();
    await store.put(name, sealedStream(cleaned.bytes, key, `bench/${name}`));
    objectDigest(key.key, cleaned.bytes);
  }
  console.log(`RSS ${JSON.stringify({ kind, size, growth: statusBytes('VmHWM') - base })}`);
};

const main = async () => {
  fs.mkdirSync(WORK, { recursive: true });
  const out = {};
  try {
    // 7. intake vs bare sharp: a landscape photo (Orientation 1: rotate() is a no-op) and the same photo
    // taken in portrait (Orientation 6: rotate() turns it, which bare re-encoding does not do).
    const jpeg = await photo(4000, 3000);
    const portrait = await sharp(jpeg).withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toBuffer();
    const store = createScanStore({ store: 'local', dir: path.join(WORK, 'store') });
    const key = { id: 'dk_bench', key: randomBytes(32) };
    const intake = (file) => async () => {
      const c = await cleanScan(file, { maxPixels: 50_000_000 });
      const name = newObjectName();
      await store.put(name, sealedStream(c.bytes, key, `bench/${name}`));
      objectDigest(key.key, c.bytes);
    };
    const bare = (file) => () => sharp(file).jpeg(JPEG_OUT).toBuffer();
    out.intake = { ...(await compare(intake(jpeg), bare(jpeg), 7)), megapixels: 12, bytes: jpeg.length };
    out.intakePortrait = await compare(intake(portrait), bare(portrait), 7);

    // 8. watermarked preview vs plain preview (from the cleaned image, as on view)
    const cleaned = (await cleanScan(jpeg, { maxPixels: 50_000_000 })).bytes;
    const text = watermarkText('测试员 Bench', new Date());
    out.preview = await compare(() => previewImage(cleaned, { text, maxSize: 1600 }), () => plainPreview(cleaned, 1600), 9);

    // 9. streamed decrypt of 10 MB vs reading the file
    const plain = randomBytes(10 * MB);
    const sealedFile = path.join(WORK, 'sealed.bin');
    const rawFile = path.join(WORK, 'raw.bin');
    fs.writeFileSync(sealedFile, await sealObject(plain, key, 'bench/decrypt'));
    fs.writeFileSync(rawFile, plain);
    const sink = () => new Writable({ write: (_c, _e, done) => done() });
    const decrypt = () => pipeline(fs.createReadStream(sealedFile), decryptStream((id) => (id === key.id ? key.key : undefined), 'bench/decrypt'), sink());
    const read = () => pipeline(fs.createReadStream(rawFile), sink());
    out.decrypt = { ...(await compare(decrypt, read, 9)), bytes: plain.length };

    // 10. peak RSS of one 10 MB upload, in fresh processes
    await rssFiles();
    out.rss = ['jpeg', 'portrait', 'pdf'].map((kind) => ({ ...rssChild(kind), bare: rssChild(kind, true).growth }));
  } finally {
    fs.rmSync(WORK, { recursive: true, force: true });
  }
  console.log(`7. scan intake of a 12 MP JPEG (${fmt(out.intake.bytes / MB, 1)} MB; sniff, rotate, strip, seal, store): ${fmt(out.intake.a, 0)} ms vs bare sharp decode + re-encode ${fmt(out.intake.b, 0)} ms → ratio ${fmt(out.intake.a / out.intake.b)} (target <= 1.3)`);
  console.log(`   the same photo in portrait (EXIF Orientation 6, turned by rotate()): ${fmt(out.intakePortrait.a, 0)} ms vs ${fmt(out.intakePortrait.b, 0)} ms → ratio ${fmt(out.intakePortrait.a / out.intakePortrait.b)}`);
  console.log(`8. 1600 px preview with watermark ${fmt(out.preview.a, 0)} ms vs without ${fmt(out.preview.b, 0)} ms → ratio ${fmt(out.preview.a / out.preview.b)} (target <= 1.3)`);
  const tp = (ms) => out.decrypt.bytes / MB / (ms / 1000);
  console.log(`9. streamed decrypt of 10 MB: ${fmt(tp(out.decrypt.a), 0)} MB/s vs reading the file ${fmt(tp(out.decrypt.b), 0)} MB/s → ${fmt(out.decrypt.b / out.decrypt.a)} of its throughput (target >= 0.5)`);
  for (const r of out.rss) {
    const lib = r.kind === 'pdf' ? 'bare pdf-lib load + save' : r.kind === 'portrait' ? 'bare sharp decode + turn + re-encode' : 'bare sharp decode + re-encode';
    const what = r.kind === 'portrait' ? 'JPEG (portrait, Orientation 6)' : r.kind.toUpperCase();
    console.log(`10. peak RSS growth, one ${fmt(r.size / MB, 1)} MB ${what} upload through intake: ${fmt(r.growth / MB, 1)} MB → ${fmt(r.growth / r.size, 1)}× the file (target <= 3); ${lib} of the same file alone: ${fmt(r.bare / MB, 1)} MB (${fmt(r.bare / r.size, 1)}×)`);
  }
  console.log(`BENCH_SCANS ${JSON.stringify(out)}`);
};

if (process.argv[2] === '--rss') {
  rssRun(process.argv[3], process.argv[4] === 'bare')
    .catch((e) => {
      console.error(e);
      process.exitCode = 1;
    })
    .finally(() => fs.rmSync(WORK, { recursive: true, force: true }));
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
