import {
  encryptedOutput,
  exportColumns,
  exportFileName,
  exportMode,
  exportRecord,
  parseFormat,
  queryFacts,
  withTiebreaker,
  REFUSALS,
} from '../../../plugins/id-vault/server/src/domain/export';
import { mask, syntheticPerson, type FieldVisibility } from '../../../plugins/id-vault/server/src/domain';

const person = syntheticPerson(4242);
const ENCRYPTED = (v: Record<string, FieldVisibility>) => [
  { name: 'idNumber', mask: 'id-number' as const, visibility: v.idNumber ?? 'masked' },
  { name: 'phone', mask: 'phone' as const, visibility: v.phone ?? 'masked' },
  { name: 'email', mask: 'email' as const, visibility: v.email ?? 'masked' },
];

describe('format', () => {
  test('csv by default, jsonl on request, anything else refused', () => {
    expect(parseFormat(undefined)).toBe('csv');
    expect(parseFormat('')).toBe('csv');
    expect(parseFormat('csv')).toBe('csv');
    expect(parseFormat('jsonl')).toBe('jsonl');
    for (const bad of ['xlsx', 'CSV', ['csv'], { a: 1 }, 1]) expect(parseFormat(bad)).toBeNull();
  });
});

describe('the export right', () => {
  test('its own right, else masked with an export grant, else none', () => {
    expect(exportMode('plain', false)).toBe('plain');
    expect(exportMode('masked', true)).toBe('masked');
    expect(exportMode('none', true)).toBe('masked'); // a grant widens rows, never fields
    expect(exportMode('none', false)).toBeNull();
  });

  test.each([
    ['masked', 'plain', 'masked'], // masked export right: masked even where the caller sees plain
    ['masked', 'masked', 'masked'],
    ['masked', 'hidden', null],
    ['plain', 'plain', 'plain'],
    ['plain', 'masked', 'masked'], // plain export right: plain only where the caller sees plain
    ['plain', 'hidden', null],
  ] as const)('export %s × sees %s → %s', (mode, visibility, out) => {
    expect(encryptedOutput(mode, visibility)).toBe(out);
  });
});

describe('columns', () => {
  test('in order; hidden fields absent; what is seen plain but exported masked is re-masked', () => {
    const cols = exportColumns('masked', ENCRYPTED({ idNumber: 'plain', phone: 'hidden' }));
    expect(cols.map((c) => c.key)).toEqual([
      'documentId', 'kind', 'name', 'idNumber', 'email',
      'idType', 'idExpiresAt', 'creditCode', 'legalRepresentative', 'industry', 'team', 'documentsComplete', 'createdAt', 'updatedAt',
    ]);
    expect(cols.find((c) => c.key === 'idNumber')).toEqual({ key: 'idNumber', encrypted: 'masked', remask: 'id-number' });
    expect(cols.find((c) => c.key === 'email')).toEqual({ key: 'email', encrypted: 'masked' }); // already masked by the vault
    expect(exportColumns('plain', ENCRYPTED({ idNumber: 'plain' })).find((c) => c.key === 'idNumber')).toEqual({ key: 'idNumber', encrypted: 'plain' });
  });

  test('a record: team by name, dates as ISO, re-masked values, nothing but scalars', () => {
    const cols = exportColumns('masked', ENCRYPTED({ idNumber: 'plain' }));
    const entry = {
      documentId: 'd1', kind: 'personal', name: person.name, idNumber: person.idNumber, phone: mask(person.phone, 'phone'),
      team: { name: 'North' }, documentsComplete: false, createdAt: new Date('2026-01-02T03:04:05.000Z'), updatedAt: '2026-01-02T03:04:05.000Z',
      creditCode: null, industry: { nested: 'no' },
    };
    const row = exportRecord(entry, cols);
    expect(row.idNumber).toBe(mask(person.idNumber, 'id-number'));
    expect(row.phone).toBe(mask(person.phone, 'phone'));
    expect(row.email).toBeNull(); // absent in the entry
    expect(row.team).toBe('North');
    expect(row.createdAt).toBe('2026-01-02T03:04:05.000Z');
    expect(row.documentsComplete).toBe(false);
    expect(row.industry).toBeNull();
    expect(Object.keys(row)).toEqual(cols.map((c) => c.key));
    expect(exportRecord({ team: null }, cols).team).toBeNull();
  });
});

describe('paging order', () => {
  test('the caller’s sort, then id', () => {
    expect(withTiebreaker(undefined)).toEqual(['id:asc']);
    expect(withTiebreaker('name:ASC')).toEqual(['name:ASC', 'id:asc']);
    expect(withTiebreaker('name:asc, kind:desc')).toEqual(['name:asc', 'kind:desc', 'id:asc']);
    expect(withTiebreaker(['name', { team: { name: 'asc' } }])).toEqual(['name', { team: { name: 'asc' } }, 'id:asc']);
    expect(withTiebreaker('id:desc')).toEqual(['id:desc']);
  });
});

describe('file name and audit facts', () => {
  test('customers-YYYYMMDD-HHmm in the configured time zone', () => {
    const at = new Date('2026-11-22T23:30:00.000Z');
    expect(exportFileName(at, 'Asia/Shanghai', 'csv')).toBe('customers-20261123-0730.csv');
    expect(exportFileName(at, 'UTC', 'jsonl')).toBe('customers-20261122-2330.jsonl');
  });

  test('filter and sort field names, whether searched — never a value', () => {
    const facts = queryFacts({
      filters: { $and: [{ idNumber: { $eq: person.idNumber } }, { team: { name: { $eq: 'North' } } }, { $or: [{ name: { $containsi: person.name } }] }] },
      sort: 'name:asc',
      _q: person.phone,
    });
    expect(facts).toEqual({ filters: ['idNumber', 'team.name', 'name'], sort: ['name'], search: true });
    const text = JSON.stringify(facts);
    for (const v of [person.idNumber, person.name, person.phone, 'North']) expect(text).not.toContain(v);
    expect(queryFacts({})).toEqual({ filters: [], sort: [], search: false });
  });

  test('refusals say which cap', () => {
    expect(REFUSALS.rows(10000, 12000)).toMatch(/12000 customers match, at most 10000 rows.*ID_VAULT_EXPORT_MAX_ROWS/);
    expect(REFUSALS.perDay(20)).toMatch(/at most 20 exports in 24 hours.*ID_VAULT_EXPORTS_PER_DAY/);
  });
});
