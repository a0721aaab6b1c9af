import { completeness, downloadName, contentDisposition, requiredDocumentsSchema, DEFAULT_REQUIRED_DOCUMENTS as RULES } from '../../../plugins/id-vault/server/src/domain';

describe('required documents', () => {
  it.each([
    ['personal', [], false, ['id-front', 'id-back']],
    ['personal', ['id-front'], false, ['id-back']],
    ['personal', ['id-back', 'other'], false, ['id-front']],
    ['personal', ['id-front', 'id-back'], true, []],
    ['personal', ['passport'], true, []],
    ['enterprise', [], false, ['business-licence', 'legal-rep-id-front', 'legal-rep-id-back']],
    ['enterprise', ['business-licence', 'legal-rep-id-back'], false, ['legal-rep-id-front']],
    ['enterprise', ['business-licence', 'legal-rep-id-front', 'legal-rep-id-back'], true, []],
    ['unknown-kind', [], true, []],
  ])('%s with %j: complete %s, missing %j', (kind, present, complete, missing) => {
    expect(completeness(kind, RULES, new Set(present))).toEqual({ complete, missing });
  });

  it('the closest alternative wins; a rule set requiring nothing is always complete', () => {
    const rules = { personal: [['id-front', 'id-back', 'other'], ['passport', 'other']], enterprise: [] };
    expect(completeness('personal', rules, new Set(['other']))).toEqual({ complete: false, missing: ['id-front', 'id-back'] });
    expect(completeness('personal', rules, new Set(['other', 'id-front']))).toEqual({ complete: false, missing: ['id-back'] });
    expect(completeness('enterprise', rules, new Set())).toEqual({ complete: true, missing: [] });
  });

  it('rules are validated strictly', () => {
    expect(requiredDocumentsSchema.safeParse(RULES).success).toBe(true);
    expect(requiredDocumentsSchema.safeParse({ personal: [['selfie']], enterprise: [] }).success).toBe(false);
    expect(requiredDocumentsSchema.safeParse({ personal: [[]], enterprise: [] }).success).toBe(false);
    expect(requiredDocumentsSchema.safeParse({ personal: [], enterprise: [], extra: [] }).success).toBe(false);
  });
});

describe('download names', () => {
  const date = new Date('2026-11-23T03:00:00Z');
  it('kind – masked short name – content – date, in the configured time zone', () => {
    expect(downloadName({ kind: 'personal', name: '张三', type: 'id-front', date, ext: 'jpg', timeZone: 'Asia/Shanghai' })).toBe('个人-张*-身份证正面-20261123.jpg');
    expect(downloadName({ kind: 'enterprise', name: '示例科技有限公司', type: 'business-licence', date, ext: 'pdf' })).toBe('企业-示*-营业执照-20261123.pdf');
    expect(downloadName({ kind: 'personal', name: 'Test Person', type: 'passport', date: new Date('2026-11-23T20:00:00Z'), ext: 'png', timeZone: 'Asia/Shanghai' })).toBe('个人-T*-护照-20261124.png');
  });
  it('no path, quote or control character gets through; no name is a star', () => {
    expect(downloadName({ kind: 'personal', name: '../"\u0000x', type: 'other', date, ext: 'jpg' })).toBe('个人-.*-其他-20261123.jpg');
    expect(downloadName({ kind: 'personal', name: null, type: 'other', date, ext: 'jpg' })).toBe('个人-*-其他-20261123.jpg');
  });
  it('Content-Disposition carries UTF-8 and an ASCII fallback', () => {
    expect(contentDisposition('attachment', '个人-张*-身份证正面-20261123.jpg')).toBe(
      `attachment; filename="__-_*-_____-20261123.jpg"; filename*=UTF-8''${encodeURIComponent('个人-张*-身份证正面-20261123.jpg')}`
    );
  });
});
