import {
  approveCandidateSchema,
  autoEraseReason,
  candidateKey,
  dismissCandidateSchema,
  expiredBefore,
  maskedName,
  retentionSettingsSchema,
  staleBefore,
  DEFAULT_RETENTION_SETTINGS,
} from '../../../plugins/id-vault/server/src/domain';

describe('retention settings', () => {
  test('the defaults list nothing and erase nothing', () => {
    expect(DEFAULT_RETENTION_SETTINGS).toEqual({
      customers: { enabled: false, years: 5, autoErase: false },
      documents: { enabled: false, days: 365, autoErase: false },
    });
    expect(retentionSettingsSchema.parse(DEFAULT_RETENTION_SETTINGS)).toEqual(DEFAULT_RETENTION_SETTINGS);
  });

  const withRule = (customers: object, documents: object = DEFAULT_RETENTION_SETTINGS.documents) => ({ customers: { ...DEFAULT_RETENTION_SETTINGS.customers, ...customers }, documents: { ...DEFAULT_RETENTION_SETTINGS.documents, ...documents } });

  test.each([
    [{ years: 0 }, {}, ['customers', 'years'], 'at least 1 year'],
    [{ years: 101 }, {}, ['customers', 'years'], 'at most 100 years'],
    [{ years: 2.5 }, {}, ['customers', 'years'], 'a whole number of years'],
    [{ years: '5' }, {}, ['customers', 'years'], 'a whole number of years'],
    [{}, { days: -1 }, ['documents', 'days'], 'at least 0 days'],
    [{}, { days: 3651 }, ['documents', 'days'], 'at most 3650 days'],
    [{ enabled: 'yes' }, {}, ['customers', 'enabled'], undefined],
  ])('refused: %j %j at %j', (customers, documents, path, message) => {
    const r = retentionSettingsSchema.safeParse(withRule(customers, documents));
    expect(r.success).toBe(false);
    const issue = r.error!.issues[0];
    expect(issue.path).toEqual(path);
    if (message) expect(issue.message).toBe(message);
  });

  test('bounds are inclusive; unknown keys are refused', () => {
    expect(retentionSettingsSchema.safeParse(withRule({ years: 1 }, { days: 0 })).success).toBe(true);
    expect(retentionSettingsSchema.safeParse(withRule({ years: 100 }, { days: 3650 })).success).toBe(true);
    expect(retentionSettingsSchema.safeParse({ ...DEFAULT_RETENTION_SETTINGS, extra: 1 }).success).toBe(false);
    expect(retentionSettingsSchema.safeParse(withRule({ extra: true })).success).toBe(false);
  });
});

describe('cut-offs', () => {
  test('stale: calendar years back from now, to the millisecond', () => {
    expect(staleBefore(new Date('2026-12-02T18:00:00.123Z'), 5).toISOString()).toBe('2021-12-02T18:00:00.123Z');
    expect(staleBefore(new Date('2028-02-29T00:00:00Z'), 1).toISOString()).toBe('2027-03-01T00:00:00.000Z');
  });
  test('expired: a date N days before today (UTC); a document expiring on that date has expired exactly N days ago and is not yet due', () => {
    expect(expiredBefore(new Date('2026-12-02T23:59:00Z'), 0)).toBe('2026-12-02');
    expect(expiredBefore(new Date('2026-12-02T00:00:00Z'), 30)).toBe('2026-11-02');
    expect(expiredBefore(new Date('2026-03-01T12:00:00Z'), 365)).toBe('2025-03-01');
  });
});

describe('candidates', () => {
  test('a key per rule, record and version', () => {
    expect(candidateKey('customer-stale', 'abc', 1700000000000)).toBe('customer-stale:abc:1700000000000');
    expect(candidateKey('document-expired', 'abc', '2020-01-01')).not.toBe(candidateKey('document-expired', 'abc', '2021-01-01'));
  });
  test('names are masked to their first character', () => {
    expect(maskedName('张三丰')).toBe('张**');
    expect(maskedName('A')).toBe('*');
    expect(maskedName(null)).toBeNull();
    expect(maskedName('')).toBeNull();
  });
  test('approval needs a reason, dismissal may give one', () => {
    expect(approveCandidateSchema.safeParse({}).success).toBe(false);
    expect(approveCandidateSchema.safeParse({ reason: '  ' }).success).toBe(false);
    expect(approveCandidateSchema.parse({ reason: ' retention period over ' })).toEqual({ reason: 'retention period over' });
    expect(dismissCandidateSchema.parse({})).toEqual({});
    expect(dismissCandidateSchema.safeParse({ reason: 'x', other: 1 }).success).toBe(false);
  });
  test('automatic erasures say which rule, with no personal data', () => {
    expect(autoEraseReason('customer-stale', DEFAULT_RETENTION_SETTINGS)).toBe('retention rule: not updated for 5 years (automatic)');
    expect(autoEraseReason('document-expired', DEFAULT_RETENTION_SETTINGS)).toBe('retention rule: expired more than 365 days ago (automatic)');
  });
});
