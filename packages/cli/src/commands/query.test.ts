import { describe, expect, it } from 'vitest';
import { formatQueryResult, parseInputValue, parsePairs, queryRequestFromFlags } from './query.ts';

const flags = (overrides: Partial<Parameters<typeof queryRequestFromFlags>[0]> = {}) => ({
  in: [],
  out: ['user.name'],
  tag: [],
  staleness: [],
  ...overrides,
});

describe('parseInputValue', () => {
  it.each([
    ['1', 1],
    ['-12', -12],
    ['3.25', 3.25],
    ['1e3', 1000],
    ['true', true],
    ['false', false],
    ['[1,"a"]', [1, 'a']],
    ['{"a":{"b":null}}', { a: { b: null } }],
    ['ada@example.com', 'ada@example.com'],
    ['007', '007'],
    ['1.', '1.'],
    ['', ''],
    ['True', 'True'],
    ['null', 'null'],
    ['9007199254740993', '9007199254740993'],
  ])('%j → %j', (raw, expected) => {
    expect(parseInputValue(raw)).toEqual(expected);
  });

  it('refuses JSON-looking text that does not parse', () => {
    expect(() => parseInputValue('[1,')).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
  });
});

describe('parsePairs', () => {
  it('splits at the first =', () => {
    expect(parsePairs(['user.id=1', 'user.note=a=b'], parseInputValue)).toEqual({
      'user.id': 1,
      'user.note': 'a=b',
    });
  });

  it.each([['user.id'], ['=1']])('refuses %j', (pair) => {
    expect(() => parsePairs([pair], parseInputValue)).toThrow(expect.objectContaining({ kind: 'input' }));
  });

  it('refuses a repeated feature', () => {
    expect(() => parsePairs(['user.id=1', 'user.id=2'], parseInputValue)).toThrow(/given twice/);
  });
});

describe('queryRequestFromFlags', () => {
  it('builds the wire body, leaving out what was not asked for', () => {
    expect(queryRequestFromFlags(flags({ in: ['user.id=1'] }))).toEqual({
      inputs: { 'user.id': 1 },
      outputs: ['user.name'],
    });
    expect(
      queryRequestFromFlags(
        flags({
          in: ['user.id=1'],
          out: ['user.name', 'user.risk_score'],
          tag: ['api:mock'],
          staleness: ['user.risk_score=10m'],
          includeMeta: true,
          queryName: 'fraud',
          queryNameVersion: '1.1.0',
        }),
      ),
    ).toEqual({
      inputs: { 'user.id': 1 },
      outputs: ['user.name', 'user.risk_score'],
      staleness: { 'user.risk_score': '10m' },
      context: { tags: ['api:mock'] },
      include_meta: true,
      query_name: 'fraud',
      query_name_version: '1.1.0',
    });
  });

  it('needs an output or a named query', () => {
    expect(() => queryRequestFromFlags(flags({ out: [] }))).toThrow(/--out/);
    expect(queryRequestFromFlags(flags({ out: [], queryName: 'q' })).outputs).toEqual([]);
  });
});

describe('formatQueryResult', () => {
  it('shows a row per feature with its value or error', () => {
    const errors = [
      { code: 'RESOLVER_FAILED', category: 'FIELD', message: 'boom', feature: 'user.risk_score' },
      { code: 'PARSE_FAILED', category: 'REQUEST', message: 'bad request' },
    ];
    const data = [
      { field: 'user.name', value: 'Ada' },
      { field: 'user.tags', value: ['a', 'b'] },
    ];
    const result = Object.defineProperties(
      { data, errors },
      {
        get: { value: (fqn: string) => data.find((row) => row.field === fqn)?.value },
        errorsFor: { value: (fqn: string) => errors.filter((e) => e.feature === fqn) },
      },
    ) as unknown as Parameters<typeof formatQueryResult>[0];
    expect(formatQueryResult(result, false).split('\n')).toEqual([
      'feature          value      error',
      '───────────────  ─────────  ─────────────────────',
      'user.name        Ada',
      'user.tags        ["a","b"]',
      'user.risk_score             RESOLVER_FAILED: boom',
      'error[PARSE_FAILED]: bad request',
    ]);
  });
});
