import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { scanError } from './errors';

export interface MultipartLimits {
  maxFileBytes: number;
  maxFiles: number;
}

const MB = 1024 * 1024;
/** Room for the multipart framing and a few small fields beside the files. */
const OVERHEAD = 64 * 1024;

/** A tail this small is zeroed and kept; a larger one (several files, no Content-Length) is dropped by a copy. */
const SLACK = 64 * 1024;

/**
 * One file part, copied into a buffer of the most it can be (the file limit, or the request's declared
 * length if smaller) as its chunks arrive, so that each chunk can be freed at once: gathering the chunks and
 * joining them at the end held the file twice. The buffer is not zero-filled — pages never written are never
 * resident — so what is left of it past the file is zeroed or cut off before anyone sees it.
 */
const fileBuffer = (room: number) => {
  const buf = Buffer.allocUnsafe(room);
  let filled = 0;
  return {
    /** False when the chunk does not fit; busboy stops at the file limit and Node's parser at the declared length, so only a body that lies about its length gets there. */
    add: (c: Buffer): boolean => {
      if (filled + c.length > room) return false;
      filled += c.copy(buf, filled);
      return true;
    },
    done: (): Buffer => {
      if (room - filled > SLACK) return Buffer.from(buf.subarray(0, filled));
      return buf.fill(0, filled).subarray(0, filled);
    },
  };
};

/**
 * Reads the files of a multipart request into memory, never onto disk: scan routes skip `strapi::body`
 * (formidable would write every file to the OS temp dir first; see middlewares/body.ts). A request whose
 * declared length exceeds what its files may total is refused before a byte of it is read; a file that
 * grows past the limit is refused the moment it does, and the rest of the body is not read.
 */
export const readFiles = (req: IncomingMessage, limits: MultipartLimits): Promise<Buffer[]> => {
  const type = String(req.headers['content-type'] ?? '');
  if (!type.toLowerCase().startsWith('multipart/form-data')) {
    return Promise.reject(scanError(400, 'ScanRequestError', 'upload scans as multipart/form-data (one or more file parts)'));
  }
  const declared = Number(req.headers['content-length']);
  const most = limits.maxFiles * limits.maxFileBytes + OVERHEAD;
  if (Number.isFinite(declared) && declared > most) {
    return Promise.reject(
      scanError(413, 'ScanTooLarge', `the request is larger than ${limits.maxFiles} files of ${limits.maxFileBytes / MB} MB each may be`, { limit: most })
    );
  }
  return new Promise((resolve, reject) => {
    const files: Buffer[] = [];
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      req.unpipe(bb);
      files.length = 0;
      reject(e);
    };
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { fileSize: limits.maxFileBytes, files: limits.maxFiles, fields: 20, fieldSize: 1024, parts: limits.maxFiles + 20 } });
    } catch {
      return reject(scanError(400, 'ScanRequestError', 'the multipart request is malformed'));
    }
    bb.on('file', (_field, stream) => {
      const file = fileBuffer(Math.min(limits.maxFileBytes, Number.isFinite(declared) ? declared : limits.maxFileBytes));
      stream.on('data', (c: Buffer) => !failed && !file.add(c) && fail(scanError(400, 'ScanRequestError', 'the multipart request is longer than it declared')));
      stream.on('limit', () => fail(scanError(413, 'ScanTooLarge', `a file is larger than ${limits.maxFileBytes / MB} MB`, { limit: limits.maxFileBytes })));
      stream.on('end', () => !failed && files.push(file.done()));
    });
    bb.on('filesLimit', () => fail(scanError(413, 'ScanTooLarge', `at most ${limits.maxFiles} files per upload`, { limit: limits.maxFiles })));
    bb.on('partsLimit', () => fail(scanError(413, 'ScanTooLarge', 'too many parts in the multipart request')));
    bb.on('error', () => fail(scanError(400, 'ScanRequestError', 'the multipart request is malformed')));
    bb.on('close', () => {
      if (failed) return;
      if (!files.length) return fail(scanError(400, 'ScanRequestError', 'no file in the request (send one or more file parts)'));
      resolve(files);
    });
    req.on('aborted', () => fail(scanError(400, 'ScanRequestError', 'the upload was aborted')));
    req.pipe(bb);
  });
};
