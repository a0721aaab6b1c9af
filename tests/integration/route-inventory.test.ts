/**
 * Route inventory: every route Strapi registers at run time (content API and admin, every plugin) must be
 * classified in route-inventory.json by whether it can reach customer / identity-document rows:
 *
 * - `never`    — it cannot (authentication, settings, schemas, folders, …); `why` says why;
 * - `by-model` — it does when its model parameter (`:model`, `:uid`, `:contentType`, a body `model`/`ref`)
 *                or the schema of the type it serves names a protected type or a type related to one;
 * - `always`   — it does whatever the parameters (id-vault routes, homepage counts, file rows, …).
 *
 * Non-`never` entries name the test file that covers that road (`coveredBy`). A new route (a Strapi
 * upgrade, a plugin, an EE licence turning on review-workflows / content-releases) fails this test until
 * someone has looked at it; a route that disappeared fails it as a stale entry.
 *
 * Source: `strapi.server.listRoutes()` — the koa-router layers of the top-level router. After
 * `strapi.server.mount()` (bootStrapi calls it) that stack holds a copy of every layer of the
 * content-API router (prefix `/api`) and of the admin router, with the full mounted path.
 */
import fs from 'fs';
import path from 'path';
import { bootStrapi, ROOT, TestApp } from '../helpers/strapi';

const INVENTORY_FILE = path.join(__dirname, 'route-inventory.json');

/**
 * coveredBy files that may be missing on disk for now. tests/integration/side-paths.test.ts is being
 * written by another engineer; once it is committed, empty this list so a typo or a deleted file fails.
 */
const ALLOWED_PENDING: string[] = [];

const REACH = ['never', 'by-model', 'always'] as const;
type Reach = (typeof REACH)[number];
interface Entry {
  reach: Reach;
  why: string;
  coveredBy?: string;
}

/** The verbs koa-router's `router.all()` registers (it takes them from the `methods` package). */
const ALL_METHODS: string[] = (() => {
  const routerDir = path.dirname(require.resolve('@koa/router/package.json', { paths: [ROOT] }));
  const methods: string[] = require(require.resolve('methods', { paths: [routerDir] }));
  return methods.map((m) => m.toUpperCase());
})();

/** `METHOD /path` keys of koa-router layers: HEAD folded into GET, `router.all()` as ALL, `use()` skipped. */
const keysOf = (layers: Array<{ methods: string[]; path: string | RegExp }>): string[] => {
  const keys = new Set<string>();
  for (const layer of layers) {
    // koa-router adds HEAD to every GET route; a HEAD-only route would keep it.
    const methods = layer.methods.includes('GET') ? layer.methods.filter((m) => m !== 'HEAD') : [...layer.methods];
    if (methods.length === 0) continue; // middleware mounted with use(): not a route
    const p = String(layer.path);
    if (ALL_METHODS.every((m) => m === 'HEAD' || methods.includes(m))) keys.add(`ALL ${p}`);
    else for (const m of methods) keys.add(`${m} ${p}`);
  }
  return [...keys].sort();
};

let app: TestApp;
let registered: string[];
let inventory: Record<string, Entry>;

beforeAll(async () => {
  app = await bootStrapi();
  registered = keysOf(app.strapi.server.listRoutes());
  inventory = JSON.parse(fs.readFileSync(INVENTORY_FILE, 'utf8'));
});

afterAll(async () => {
  await app?.close();
});

test('the enumeration is real: many routes, the mounted stack holds both API routers, known roads present', () => {
  expect(registered.length).toBeGreaterThan(100);
  // Every route of the content-API and admin routers is in the mounted stack, with its full path.
  const fromApis = ['content-api', 'admin'].flatMap((type) => keysOf(app.strapi.server.api(type).listRoutes()));
  expect(fromApis.length).toBeGreaterThan(100);
  expect(fromApis.filter((k) => !registered.includes(k))).toEqual([]);
  for (const key of [
    'GET /api/id-vault/customers',
    'GET /content-manager/relations/:model/:targetField',
    'GET /content-manager/homepage/count-documents',
  ]) {
    expect({ key, registered: registered.includes(key) }).toEqual({ key, registered: true });
    expect({ key, reach: inventory[key]?.reach }).toEqual({ key, reach: expect.stringMatching(/^(by-model|always)$/) });
  }
});

test('every registered route is classified in route-inventory.json', () => {
  const unclassified = registered.filter((k) => !Object.prototype.hasOwnProperty.call(inventory, k));
  // Add each one to tests/integration/route-inventory.json: { "reach": "never" | "by-model" | "always", "why": …, "coveredBy": … }
  expect(unclassified).toEqual([]);
});

test('route-inventory.json names no route that is no longer registered', () => {
  const stale = Object.keys(inventory).filter((k) => !registered.includes(k));
  // Remove these entries (or find where the route moved to and classify the new key).
  expect(stale).toEqual([]);
});

test('every entry has a valid reach, a reason and, unless never, an existing coveredBy test file', () => {
  const problems: string[] = [];
  for (const [key, entry] of Object.entries(inventory)) {
    if (!entry || typeof entry !== 'object') {
      problems.push(`${key}: not an object`);
      continue;
    }
    if (!REACH.includes(entry.reach)) problems.push(`${key}: reach ${JSON.stringify(entry.reach)} is not one of ${REACH.join(' | ')}`);
    if (typeof entry.why !== 'string' || entry.why.trim() === '') problems.push(`${key}: no "why"`);
    if (entry.reach === 'never') continue;
    const file = entry.coveredBy;
    if (typeof file !== 'string' || file === '') {
      problems.push(`${key}: reach ${entry.reach} needs a "coveredBy" test file`);
      continue;
    }
    if (!/^tests\/integration\/[\w.-]+\.test\.ts$/.test(file)) {
      problems.push(`${key}: coveredBy ${file} is not a tests/integration/<file>.test.ts path`);
      continue;
    }
    // ALLOWED_PENDING: files another engineer is still writing count as existing until they land.
    if (!fs.existsSync(path.join(ROOT, file)) && !ALLOWED_PENDING.includes(file)) problems.push(`${key}: coveredBy ${file} does not exist`);
  }
  expect(problems).toEqual([]);
});

test('route-inventory.json is sorted by key', () => {
  const keys = Object.keys(inventory);
  const firstOutOfOrder = keys.find((k, i) => i > 0 && keys[i - 1] > k);
  expect(firstOutOfOrder).toBeUndefined();
});
