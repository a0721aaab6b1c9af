import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

/** A download that stopped part-way, named by the code of what stopped it (never its message: a database error quotes values). */
export class DownloadStreamError extends Error {
  constructor(readonly code: string) {
    super(`id-vault: the download stopped (${code})`);
  }
}

/**
 * The last stage of a download: passes the bytes on, hashing them. `end` runs before the stream ends (the
 * response completes only once, say, its audit event is written); `abort` when it is destroyed first (the
 * client went away, or a stage before it failed).
 */
export const tally = (end: (sha256: string) => Promise<void>, abort: (error: Error | null) => Promise<void>) => {
  const hash = createHash('sha256');
  let settled = false;
  return new Transform({
    transform(chunk, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      settled = true;
      end(hash.digest('hex')).then(() => done(), done);
    },
    destroy(error, done) {
      const safe = error && new DownloadStreamError((error as any).code ?? error.name);
      if (settled) return done(safe);
      settled = true;
      abort(error).finally(() => done(safe));
    },
  });
};

/** Whether a download's stream was destroyed because its client went away (not by an error of its own). */
export const clientWentAway = (error: Error | null) => !error || (error as any).code === 'ERR_STREAM_PREMATURE_CLOSE';
