import {
  anomalyKindOf,
  anomalySettingsSchema,
  clearAnomalySchema,
  suspensionMessage,
  DEFAULT_ANOMALY_SETTINGS,
} from '../../../plugins/id-vault/server/src/domain';

describe('which events count towards which kind', () => {
  test.each([
    ['customer.view', 'success', 'views'],
    ['customer.list', 'success', 'views'],
    ['customer.reveal', 'success', 'reveals'],
    ['customer.export', 'success', 'exports'],
    ['customer.export', 'failure', 'exports'], // output went out before it stopped
    ['customer.export', 'denied', null],
    ['customer.reveal', 'denied', null], // a suspended caller retrying does not deepen the alert
    ['customer.reveal', 'rejected', null],
    ['identity-document.view', 'success', null],
    ['customer.update', 'success', null],
    ['anomaly.detected', 'success', null],
  ] as const)('%s (%s) → %s', (action, outcome, kind) => {
    expect(anomalyKindOf(action, outcome)).toBe(kind);
  });
});

describe('settings', () => {
  test('the defaults of the issue: more than 100 views, 10 reveals or 3 exports in 10 minutes; suspension on', () => {
    expect(DEFAULT_ANOMALY_SETTINGS).toEqual({ views: 100, reveals: 10, exports: 3, windowMinutes: 10, suspend: true });
    expect(anomalySettingsSchema.parse(DEFAULT_ANOMALY_SETTINGS)).toEqual(DEFAULT_ANOMALY_SETTINGS);
  });

  test.each([
    [{ views: 0 }],
    [{ reveals: -1 }],
    [{ exports: 1.5 }],
    [{ windowMinutes: 0 }],
    [{ windowMinutes: 1441 }],
    [{ views: '100' }],
    [{ suspend: 'true' }],
    [{ other: 1 }],
  ])('refused: %p', (change) => {
    expect(anomalySettingsSchema.safeParse({ ...DEFAULT_ANOMALY_SETTINGS, ...change }).success).toBe(false);
  });

  test('every key is required', () => {
    const { exports: _, ...partial } = DEFAULT_ANOMALY_SETTINGS;
    expect(anomalySettingsSchema.safeParse(partial).success).toBe(false);
  });
});

test('clearing needs a reason of 3 to 500 characters, nothing else', () => {
  expect(clearAnomalySchema.safeParse({ reason: 'ok' }).success).toBe(false);
  expect(clearAnomalySchema.safeParse({ reason: '  confirmed by phone ' }).data).toEqual({ reason: 'confirmed by phone' });
  expect(clearAnomalySchema.safeParse({ reason: 'confirmed', by: 1 }).success).toBe(false);
  expect(clearAnomalySchema.safeParse({ reason: 'x'.repeat(501) }).success).toBe(false);
});

test('the suspended caller is told since when, why and the way out', () => {
  expect(suspensionMessage({ kind: 'views', count: 140, threshold: 100, windowMinutes: 10, detectedAt: '2026-12-02T10:00:00.000Z' })).toBe(
    'reveal, export and scan downloads are suspended for your account since 2026-12-02T10:00:00.000Z after an unusual number of customer views (140 in 10 minutes, more than 100); an archive admin can clear it'
  );
});
