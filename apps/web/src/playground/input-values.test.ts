import { describe, expect, it } from 'vitest';
import type { DType } from '../api/index.ts';
import { parseInputValue, parseTable, tableToOfflineInput } from './input-values.ts';

describe('parseInputValue', () => {
  it('reads each feature type as the server expects it', () => {
    expect(parseInputValue(' 42 ', { type: 'int' })).toEqual({ ok: true, value: 42 });
    expect(parseInputValue('4.5', { type: 'float' })).toEqual({ ok: true, value: 4.5 });
    expect(parseInputValue('TRUE', { type: 'bool' })).toEqual({ ok: true, value: true });
    expect(parseInputValue('0', { type: 'bool' })).toEqual({ ok: true, value: false });
    expect(parseInputValue('[1, 2]', { type: 'list', of: { type: 'int' } })).toEqual({
      ok: true,
      value: [1, 2],
    });
    expect(parseInputValue(' hello ', { type: 'string' })).toEqual({ ok: true, value: ' hello ' });
    expect(parseInputValue('', { type: 'int' })).toEqual({ ok: true, value: null });
    expect(parseInputValue('2026-01-31T00:00:00Z', { type: 'datetime' })).toEqual({
      ok: true,
      value: '2026-01-31T00:00:00Z',
    });
  });

  it('says why a value does not fit its type', () => {
    expect(parseInputValue('4.5', { type: 'int' }).ok).toBe(false);
    expect(parseInputValue('9007199254740993', { type: 'int' }).ok).toBe(false);
    expect(parseInputValue('yes', { type: 'bool' }).ok).toBe(false);
    expect(parseInputValue('[1,', { type: 'list', of: { type: 'int' } }).ok).toBe(false);
    expect(parseInputValue('not a time', { type: 'datetime' }).ok).toBe(false);
  });
});

describe('parseTable', () => {
  it('reads CSV with quotes, escaped quotes, CRLF and blank lines', () => {
    expect(parseTable('user.id,user.note\r\n1,"a, ""quoted"" note"\r\n\r\n2,plain\r\n')).toEqual({
      columns: ['user.id', 'user.note'],
      rows: [
        ['1', 'a, "quoted" note'],
        ['2', 'plain'],
      ],
    });
  });

  it('reads tab-separated text as a spreadsheet pastes it', () => {
    expect(parseTable('user.id\t__ts__\n7\t2026-01-01T00:00:00Z')).toEqual({
      columns: ['user.id', '__ts__'],
      rows: [['7', '2026-01-01T00:00:00Z']],
    });
  });

  it('refuses ragged rows and open quotes', () => {
    expect(() => parseTable('a,b\n1')).toThrow('row 2 has 1 cells; the header has 2');
    expect(() => parseTable('a\n"open')).toThrow('not closed');
  });
});

describe('tableToOfflineInput', () => {
  const dtypes: Record<string, DType> = {
    'user.id': { type: 'int' },
    'user.name': { type: 'string' },
  };
  const dtypeOf = (fqn: string) => dtypes[fqn] ?? null;

  it('makes column-major, typed input and takes the time column as input_times', () => {
    const table = parseTable('user.id,__ts__\n1,2026-01-01T00:00:00Z\n2,2026-01-02T00:00:00Z');
    expect(tableToOfflineInput(table, dtypeOf)).toEqual({
      ok: true,
      input: { columns: ['user.id'], values: [[1, 2]] },
      inputTimes: ['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z'],
    });
  });

  it('names the unknown columns and the cells that do not parse', () => {
    const result = tableToOfflineInput(parseTable('user.id,user.nope\nx,1'), dtypeOf);
    expect(result).toEqual({
      ok: false,
      errors: [
        'row 2, user.id: “x” is not a whole number',
        'column “user.nope” is not a feature of this deployment',
      ],
    });
  });
});
