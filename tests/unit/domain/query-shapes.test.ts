import { and, relationCondition, relationRefs, populateObject, sortPaths, filterPaths, touchesRelation, redactQuery } from '../../../plugins/id-vault/server/src/domain';

describe('and', () => {
  test.each([
    [[], null],
    [[null, undefined, {}], null],
    [[{ a: 1 }], { a: 1 }],
    [[{ a: 1 }, null, { b: 2 }], { $and: [{ a: 1 }, { b: 2 }] }],
  ])('%j → %j', (parts, out) => expect(and(...(parts as any[]))).toEqual(out));
});

describe('relationCondition: Strapi\'s reading of a filter on a relation', () => {
  test.each<[unknown, object]>([
    [5, { mode: 'some', where: { id: 5 } }],
    [[1, 2], { mode: 'some', where: { id: [1, 2] } }],
    [{ $in: [1, 2] }, { mode: 'some', where: { id: { $in: [1, 2] } } }],
    [{ $ne: 3 }, { mode: 'some', where: { id: { $ne: 3 } } }],
    [{ $null: true }, { mode: 'none', where: {} }],
    [{ $null: 'true' }, { mode: 'none', where: {} }],
    [{ $null: false }, { mode: 'some', where: {} }],
    [{ $notNull: true }, { mode: 'some', where: {} }],
    [{ $notNull: false }, { mode: 'none', where: {} }],
    [{ name: 'x' }, { mode: 'some', where: { name: 'x' } }],
    [{ $not: { name: 'x' } }, { mode: 'some', where: { $not: { name: 'x' } } }],
    [{ $or: [{ a: 1 }] }, { mode: 'some', where: { $or: [{ a: 1 }] } }],
  ])('%j', (value, out) => expect(relationCondition(value)).toEqual(out));
});

describe('relationRefs: the rows a relation payload names', () => {
  test.each<[unknown, object]>([
    [undefined, { refs: [], touched: false, replaces: false, unknown: 0 }],
    [3, { refs: [{ id: 3 }], touched: true, replaces: true, unknown: 0 }],
    ['12', { refs: [{ id: 12 }], touched: true, replaces: true, unknown: 0 }],
    ['abc', { refs: [{ documentId: 'abc' }], touched: true, replaces: true, unknown: 0 }],
    [[1, { documentId: 'd' }, { id: '4' }], { refs: [{ id: 1 }, { documentId: 'd' }, { id: 4 }], touched: true, replaces: true, unknown: 0 }],
    [{ connect: [1], disconnect: [{ id: 2 }] }, { refs: [{ id: 1 }, { id: 2 }], touched: true, replaces: false, unknown: 0 }],
    [{ set: [] }, { refs: [], touched: true, replaces: true, unknown: 0 }],
    [{ set: ['x'] }, { refs: [{ documentId: 'x' }], touched: true, replaces: true, unknown: 0 }],
    [{ connect: [], disconnect: [] }, { refs: [], touched: false, replaces: false, unknown: 0 }],
    [{}, { refs: [], touched: false, replaces: false, unknown: 0 }],
    [{ count: 2 }, { refs: [], touched: false, replaces: false, unknown: 0 }],
    [{ id: 7 }, { refs: [{ id: 7 }], touched: true, replaces: true, unknown: 0 }],
    [[{ foo: 1 }, true], { refs: [], touched: true, replaces: true, unknown: 2 }],
    [null, { refs: [], touched: true, replaces: true, unknown: 0 }],
  ])('%j', (value, out) => expect(relationRefs(value)).toEqual(out));
});

test('touchesRelation', () => {
  expect([undefined, null, 1, [], { connect: [] }, { set: [] }, { connect: [1] }, { count: 2 }].map(touchesRelation)).toEqual([false, true, true, true, false, true, true, false]);
});

describe('populateObject', () => {
  const all = () => ['a', 'b'];
  test.each<[unknown, object | null]>([
    [false, null],
    [undefined, null],
    [true, { a: true, b: true }],
    ['*', { a: true, b: true }],
    ['a,b.c', { a: true, b: { populate: ['c'] } }],
    [['a.x', 'a.y'], { a: { populate: ['x', 'y'] } }],
    [['*', 'b.c'], { a: true, b: { populate: ['c'] } }],
    [{ a: { fields: ['n'] } }, { a: { fields: ['n'] } }],
  ])('%j', (value, out) => expect(populateObject(value, all)).toEqual(out));
});

describe('sortPaths', () => {
  test.each<[unknown, string[][]]>([
    [undefined, []],
    ['', []],
    ['a:asc,b.c:desc', [['a'], ['b', 'c']]],
    [['a', { b: 'desc' }], [['a'], ['b']]],
    [{ rel: { c: 'asc' }, d: 'asc' }, [['rel', 'c'], ['d']]],
    [[{ rel: [{ x: 'asc' }] }], [['rel', 'x']]],
  ])('%j', (value, out) => expect(sortPaths(value)).toEqual(out));
});

describe('redactQuery: request logs keep keys, not values', () => {
  test.each([
    ['filters%5BidNumber%5D%5B%24eq%5D=11010519491231002X', 'filters%5BidNumber%5D%5B%24eq%5D=***'],
    ['_q=someone%40example.test&page=2&pageSize=10', '_q=***&page=2&pageSize=10'],
    ['sort=name%3Aasc&fields%5B0%5D=name&populate%5Bcustomer%5D%5Bfields%5D%5B0%5D=name', 'sort=name%3Aasc&fields%5B0%5D=name&populate%5Bcustomer%5D%5Bfields%5D%5B0%5D=name'],
    ['populate%5Bcustomer%5D%5Bfilters%5D%5Bname%5D=x', 'populate%5Bcustomer%5D%5Bfilters%5D%5Bname%5D=***'],
    ['idsToOmit%5B0%5D=4&status=draft', 'idsToOmit%5B0%5D=***&status=draft'],
    ['13912345678', '***'],
    ['%E0%A4%A=1', '***'],
    ['', ''],
  ])('%s', (input, out) => expect(redactQuery(input)).toBe(out));
});

describe('filterPaths (field names of a filters tree, for the audit trail)', () => {
  it.each([
    [undefined, []],
    [{}, []],
    [{ phone: '+8613800000001' }, [['phone']]],
    [{ phone: { $eq: 'x' }, name: { $startsWith: 'A', $endsWith: 'B' } }, [['phone'], ['name']]],
    [{ team: { name: { $eq: 'x' } } }, [['team', 'name']]],
    [{ $or: [{ phone: 'x' }, { email: { $eq: 'y' } }], $not: { idNumber: 'z' } }, [['phone'], ['email'], ['idNumber']]],
    [{ documents: { $null: true } }, [['documents']]],
    [[{ a: 1 }, { b: { c: 2 } }], [['a'], ['b', 'c']]],
  ])('%j → %j', (filters, paths) => {
    expect(filterPaths(filters)).toEqual(paths);
  });
});
