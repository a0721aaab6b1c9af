/**
 * Every message the admin panel's code names (`t('key', 'English default')`) is in en.json and has a
 * zh-Hans translation: a new page cannot land half in English for Chinese admins.
 */
import fs from 'fs';
import path from 'path';

const ADMIN = path.join(__dirname, '..', '..', '..', 'plugins', 'id-vault', 'admin', 'src');
const read = (name: string): Record<string, string> => JSON.parse(fs.readFileSync(path.join(ADMIN, 'translations', name), 'utf8'));

const sources = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : /\.tsx?$/.test(e.name) ? [p] : [];
  });

const keysInCode = [...new Set(sources(ADMIN).flatMap((f) => [...fs.readFileSync(f, 'utf8').matchAll(/\bt\(\s*'([A-Za-z0-9.-]+)'/g)].map((m) => m[1])))].sort();

test('the code names messages', () => {
  expect(keysInCode.length).toBeGreaterThan(100);
});

test.each(['en.json', 'zh-Hans.json'])('%s has every message the code names, none empty', (file) => {
  const messages = read(file);
  expect(keysInCode.filter((k) => !messages[k]?.trim())).toEqual([]);
});

test('zh-Hans translates every English message', () => {
  const en = read('en.json');
  const zh = read('zh-Hans.json');
  expect(Object.keys(en).filter((k) => !zh[k]?.trim())).toEqual([]);
});

test('every field label the Content Manager shows has a zh-Hans translation', () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { FIELD_LABELS } = require('../../../plugins/id-vault/shared');
  const zh = read('zh-Hans.content-manager.json');
  const wanted = Object.entries<Record<string, string>>(FIELD_LABELS).flatMap(([uid, labels]) => Object.keys(labels).map((f) => `${uid}.${f}`));
  expect(wanted.filter((k) => !zh[k]?.trim())).toEqual([]);
  expect(Object.keys(zh).filter((k) => !wanted.includes(k))).toEqual([]);
});

test('enum display names: the same values in English and zh-Hans, each a value of a plugin enum, never the colliding `other`', () => {
  const enums = read('enums.json') as unknown as Record<string, Record<string, string>>;
  expect(Object.keys(enums.en).sort()).toEqual(Object.keys(enums['zh-Hans']).sort());
  const schemas = ['customer', 'identity-document'].map((t) =>
    JSON.parse(fs.readFileSync(path.join(ADMIN, '..', '..', 'server', 'src', 'content-types', t, 'schema.json'), 'utf8'))
  );
  const values = new Set(schemas.flatMap((s) => Object.values<any>(s.attributes).flatMap((a) => (a.type === 'enumeration' ? a.enum : []))));
  expect(Object.keys(enums.en).filter((v) => !values.has(v))).toEqual([]);
  expect(Object.keys(enums.en)).not.toContain('other');
});
