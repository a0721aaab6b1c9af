import { Readable } from 'stream';
import { readFiles } from '../../../plugins/id-vault/server/src/scans/multipart';

const BOUNDARY = 'idvtest';
const part = (bytes: Buffer) =>
  Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="x"\r\nContent-Type: application/octet-stream\r\n\r\n`), bytes, Buffer.from('\r\n')]);

/** A request body in chunks of `chunk` bytes; `length` the Content-Length it declares (none when null). */
const request = (body: Buffer, chunk: number, length: number | null = body.length): any => {
  const chunks = Array.from({ length: Math.ceil(body.length / chunk) }, (_, i) => body.subarray(i * chunk, (i + 1) * chunk));
  const headers: Record<string, string> = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };
  if (length !== null) headers['content-length'] = String(length);
  return Object.assign(Readable.from(chunks), { headers });
};

const limits = { maxFileBytes: 64 * 1024, maxFiles: 5 };

describe('multipart intake (in memory)', () => {
  it('reads each file whole, exact to the byte, however the body is chunked and whether it declares a length', async () => {
    const files = [Buffer.alloc(0), Buffer.from('a'), Buffer.alloc(50_000, 7), Buffer.alloc(64 * 1024 - 1, 9)].map((b, i) => (b.length > 1 ? b.fill(i + 1, 0, 10) : b));
    const body = Buffer.concat([...files.map(part), Buffer.from(`--${BOUNDARY}--\r\n`)]);
    for (const [chunk, length] of [[7, body.length], [65536, body.length], [1000, null]] as const) {
      const got = await readFiles(request(body, chunk, length), limits);
      expect(got.map((b) => b.toString('hex'))).toEqual(files.map((b) => b.toString('hex')));
      // What the buffer holds past the file is never old memory.
      for (const b of got) expect(Buffer.from(b.buffer, b.byteOffset + b.length, Math.min(1024, b.buffer.byteLength - b.byteOffset - b.length)).every((x) => x === 0)).toBe(true);
    }
  });

  it('refuses a file over the limit (413) and a body longer than it declared (400)', async () => {
    const body = Buffer.concat([part(Buffer.alloc(64 * 1024 + 1)), Buffer.from(`--${BOUNDARY}--\r\n`)]);
    await expect(readFiles(request(body, 4096), limits)).rejects.toMatchObject({ status: 413 });
    const small = Buffer.concat([part(Buffer.alloc(5000, 1)), Buffer.from(`--${BOUNDARY}--\r\n`)]);
    await expect(readFiles(request(small, 4096, 1000), limits)).rejects.toMatchObject({ status: 400 });
  });
});
