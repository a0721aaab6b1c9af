import {
  checkRow,
  columnLetters,
  duplicateProblems,
  formatProblem,
  mapColumns,
  parseCell,
  syntheticCompany,
  syntheticPerson,
  type ImportColumnSpec,
} from '../../../plugins/id-vault/server/src/domain';

const SPECS: ImportColumnSpec[] = [
  { name: 'kind', label: 'Kind', type: 'enumeration', required: true, default: 'personal', enum: ['personal', 'enterprise'], enumNames: { person: 'personal', company: 'enterprise', 个人: 'personal' } },
  { name: 'name', label: 'Name', type: 'string', required: true },
  { name: 'idType', label: 'ID type', type: 'enumeration', enum: ['resident-id', 'passport'], enumNames: { 'resident id card': 'resident-id' } },
  { name: 'idNumber', label: 'ID number', type: 'encrypted', validate: 'none' },
  { name: 'phone', label: 'Phone', type: 'encrypted', validate: 'phone' },
  { name: 'email', label: 'E-mail', type: 'encrypted', validate: 'email' },
  { name: 'creditCode', label: 'Unified social credit code', type: 'string', unique: true },
  { name: 'idExpiresAt', type: 'date' },
  { name: 'consentAt', type: 'datetime' },
  { name: 'hidden', type: 'boolean', required: true, default: false },
  { name: 'team', label: 'Org unit', type: 'relation-one' },
  { name: 'tags', label: 'Tags', type: 'relation-many' },
];
const p = syntheticPerson(42);
const c = syntheticCompany(43);

describe('mapColumns', () => {
  test('attribute names and English labels, any case and spacing', () => {
    const { columns, problems } = mapColumns(['KIND', ' Name ', 'id  type', 'idNumber', 'e-mail', 'org unit', ''], SPECS);
    expect(problems).toEqual([]);
    expect(columns.map((x) => x?.name ?? null)).toEqual(['kind', 'name', 'idType', 'idNumber', 'email', 'team', null]);
  });

  test('unknown and repeated headers are named by position, never by their text; a required column without default is missing', () => {
    const { problems } = mapColumns(['Kind', p.name, 'phone', 'Phone'], SPECS);
    expect(problems).toEqual([
      { line: 1, field: 'column 2 (B)', message: expect.stringContaining('is not an attribute') },
      { line: 1, field: 'column 4 (D)', message: 'is a second column for phone' },
      { line: 1, field: 'name', message: 'is required and has no column' },
    ]);
    expect(JSON.stringify(problems)).not.toContain(p.name);
  });

  test.each([[0, 'A'], [25, 'Z'], [26, 'AA'], [27, 'AB'], [701, 'ZZ'], [702, 'AAA']])('column %i is %s', (i, letters) => expect(columnLetters(i)).toBe(letters));
});

describe('checkRow', () => {
  const header = ['kind', 'name', 'idType', 'idNumber', 'phone', 'email', 'creditCode', 'idExpiresAt', 'consentAt', 'hidden', 'team', 'tags'];
  const { columns } = mapColumns(header, SPECS);
  const today = new Date('2026-06-01T00:00:00Z');

  test('a valid row: canonical forms, defaults, display names, references kept apart', () => {
    const row = checkRow(2, ['Person', p.name, 'Resident ID card', p.idNumber.toLowerCase(), p.phone.slice(3), ` ${p.email} `, '', '2030-01-31', '2026-01-02 03:04', '', 'Sales', 'vip; new ;vip'], columns, today);
    expect(row.problems).toEqual([]);
    expect(row.data).toEqual({ kind: 'personal', name: p.name, idType: 'resident-id', idNumber: p.idNumber.toLowerCase(), phone: p.phone, email: p.email, idExpiresAt: '2030-01-31', consentAt: new Date('2026-01-02T03:04').toISOString(), hidden: false });
    expect(row.refs).toEqual({ team: 'Sales', tags: ['vip', 'new'] });
  });

  test('each problem names the line and field and never the value', () => {
    const badId = p.idNumber.slice(0, 17) + (p.idNumber[17] === '0' ? '1' : '0');
    const cells = ['robot', '', 'resident-id', badId, '12345', 'nope@', 'NOT-A-CODE', '2030-02-30', 'yesterday', 'maybe', '', ';', 'extra'];
    const row = checkRow(7, cells, columns, today);
    expect(row.problems.map(formatProblem)).toEqual([
      'line 7, kind: must be one of: personal, enterprise (or their display names)',
      'line 7, phone: must be a mainland mobile number or an E.164 phone number',
      'line 7, email: must be a valid e-mail address',
      'line 7, idExpiresAt: must be a date written YYYY-MM-DD',
      'line 7, consentAt: must be a date and time in ISO 8601 (YYYY-MM-DDTHH:MM:SSZ)',
      'line 7, hidden: must be true or false',
      'line 7, tags: names nothing',
      'line 7, column 13 (M): holds a value beyond the header',
      'line 7, name: is required',
      'line 7, idNumber: must be a valid 18-character resident ID number (GB 11643 check digit and a real birth date)',
      'line 7, creditCode: must be a valid unified social credit code (GB 32100)',
    ]);
    const text = JSON.stringify(row.problems);
    for (const v of cells.filter((x) => x.length > 1)) expect(text).not.toContain(v);
  });

  test('the ID number checksum applies to resident IDs only, as in the API', () => {
    const badId = p.idNumber.slice(0, 17) + (p.idNumber[17] === '0' ? '1' : '0');
    expect(checkRow(3, ['personal', 'X', 'passport', badId], columns, today).problems).toEqual([]);
  });

  test('strings longer than 255 characters are refused', () => {
    expect(parseCell({ name: 'name', type: 'string' }, 'x'.repeat(256))).toEqual({ ok: false, message: 'is longer than 255 characters' });
    expect(parseCell({ name: 'notes', type: 'text' }, 'x'.repeat(5000))).toEqual({ ok: true, value: 'x'.repeat(5000) });
  });
});

test('duplicateProblems: a unique value repeated in the file names the first line, case-insensitively', () => {
  const { columns } = mapColumns(['name', 'creditCode'], SPECS);
  const rows = [checkRow(2, ['A', c.creditCode], columns), checkRow(3, ['B', c.creditCode.toLowerCase()], columns), checkRow(4, ['C', ''], columns)];
  expect(duplicateProblems(rows, SPECS)).toEqual([{ line: 3, field: 'creditCode', message: 'repeats the value of line 2 (must be unique)' }]);
});
