/**
 * The real `strapi develop --no-watch-admin` for e2e tests that need the Content-Type Builder (editable only in
 * development, and restarting the server whenever it writes a schema): in a throw-away copy of the app **outside
 * the repository** (the builder's files never land in the checkout, and nothing under it changes while jest
 * watches it), on a free port, with its own SQLite file and freshly generated secrets and master key.
 *
 * The copy: package.json, tsconfig.json, config/, src/, database/, public/ and favicon.png copied; node_modules
 * and plugins/ symlinked (the plugin's dist/ must be built); the admin panel of `npm run build` (dist/build)
 * copied and served as it is (`--no-build-admin`: the same sources, minutes saved). `strapi develop` compiles
 * the copy's TypeScript into its own dist/.
 */
import fs from 'fs';
import net from 'net';
import os from 'os';
import path from 'path';
import { randomBytes } from 'crypto';
import { spawn, type ChildProcess } from 'child_process';
import { newMasterKeyEntry, ROOT } from './strapi';

export interface DevelopServer {
  /** The copy's root directory (its src/ is where the Content-Type Builder writes). */
  dir: string;
  /** http://127.0.0.1:<port> */
  base: string;
  /** The copy's SQLite file, to read what is really stored. */
  database: string;
  /** Everything the server printed so far (stdout and stderr). */
  output: () => string;
  /** Resolves once the server answers again (after the Content-Type Builder's restart, say). */
  waitUntilUp: (timeoutMs?: number) => Promise<void>;
  /** Stops the server (its whole process group) and removes the copy. */
  stop: () => Promise<void>;
}

const COPIED = ['package.json', 'tsconfig.json', 'favicon.png', 'config', 'src', 'database', 'public'];
const LINKED = ['node_modules', 'plugins'];

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

const secret = () => randomBytes(24).toString('base64');

/** True when the server answers its health check (Strapi's `/_health`: 204). */
const isUp = async (base: string) => {
  try {
    const res = await fetch(`${base}/_health`, { signal: AbortSignal.timeout(2000) });
    return res.status === 204;
  } catch {
    return false;
  }
};

export const startDevelop = async ({ timeoutMs = 300_000 } = {}): Promise<DevelopServer> => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'build', 'index.html'))) throw new Error('the admin panel is not built: run `npm run build` first');
  if (!fs.existsSync(path.join(ROOT, 'plugins', 'id-vault', 'dist'))) throw new Error('the plugin is not built: run `npm run build:plugin` first');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'id-vault-develop-'));
  for (const name of COPIED) fs.cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true, filter: (src) => !src.includes(`${path.sep}uploads${path.sep}`) });
  for (const name of LINKED) fs.symlinkSync(path.join(ROOT, name), path.join(dir, name), 'dir');
  fs.cpSync(path.join(ROOT, 'dist', 'build'), path.join(dir, 'dist', 'build'), { recursive: true });
  fs.mkdirSync(path.join(dir, '.tmp'), { recursive: true });

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const database = path.join(dir, '.tmp', 'data.db');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'development',
    STRAPI_TELEMETRY_DISABLED: 'true',
    BROWSER: 'none',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_CLIENT: 'sqlite',
    DATABASE_FILENAME: database,
    APP_KEYS: [secret(), secret()].join(','),
    API_TOKEN_SALT: secret(),
    ADMIN_JWT_SECRET: secret(),
    TRANSFER_TOKEN_SALT: secret(),
    JWT_SECRET: secret(),
    ENCRYPTION_KEY: secret(),
    ID_VAULT_MASTER_KEYS: newMasterKeyEntry('dev1'),
  };
  let out = '';
  // Its own process group: `strapi develop` forks a worker (and forks a new one on every restart).
  const child: ChildProcess = spawn(process.execPath, [path.join(dir, 'node_modules', '@strapi', 'strapi', 'bin', 'strapi.js'), 'develop', '--no-watch-admin', '--no-build-admin'], {
    cwd: dir,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (out += c));
  child.stderr!.on('data', (c: Buffer) => (out += c));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.on('exit', () => ((exited = true), resolve())));

  const waitUntilUp = async (ms = timeoutMs) => {
    const deadline = Date.now() + ms;
    while (!(await isUp(base))) {
      if (exited) throw new Error(`strapi develop exited:\n${out.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`strapi develop did not answer within ${ms} ms:\n${out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const stop = async () => {
    if (!exited) {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* gone already */
      }
      const killed = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone already */
        }
      }, 10_000);
      await exit;
      clearTimeout(killed);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilUp();
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, base, database, output: () => out, waitUntilUp, stop };
};
