import { describe, expect, it } from 'vitest';
import { arrayOf, nonEmptyString, optionalString, recordOf, stringEntries, stringList, stringOrEmpty, stringRecord, trimmedTextOrNumber } from './json-fields.js';

const ODD = [null, undefined, 3, true, [], {}] as const;

describe('JSON field readers', () => {
  it('give "nothing" of their own kind for missing, null or wrongly typed fields', () => {
    for (const value of ODD.filter((v) => typeof v !== 'number')) {
      expect(nonEmptyString(value)).toBeUndefined();
      expect(optionalString(value)).toBeUndefined();
      expect(stringOrEmpty(value)).toBe('');
      expect(trimmedTextOrNumber(value)).toBeUndefined();
    }
    expect(recordOf(null)).toEqual({});
    expect(recordOf([1])).toEqual({});
    expect(arrayOf({ length: 1 })).toEqual([]);
    expect(stringRecord('x')).toEqual({});
    expect(stringList(null)).toEqual([]);
  });

  it('differ on the empty string, spaces and numbers, as their names say', () => {
    expect([nonEmptyString(''), optionalString(''), stringOrEmpty(''), trimmedTextOrNumber('')]).toEqual([undefined, '', '', undefined]);
    expect([nonEmptyString(' a '), optionalString(' a '), stringOrEmpty(' a '), trimmedTextOrNumber(' a ')]).toEqual([' a ', ' a ', ' a ', 'a']);
    expect([nonEmptyString(7), optionalString(7), stringOrEmpty(7), trimmedTextOrNumber(7)]).toEqual([undefined, undefined, '', '7']);
    expect(trimmedTextOrNumber('   ')).toBeUndefined();
    expect(trimmedTextOrNumber(Number.NaN)).toBeUndefined();
  });

  it('keep only the string entries and items', () => {
    const labels = { a: 'x', b: 1, c: null, d: '' };
    expect(stringEntries(labels)).toEqual([['a', 'x'], ['d', '']]);
    expect(stringRecord(labels)).toEqual({ a: 'x', d: '' });
    expect(stringList(['a', 1, null, ''])).toEqual(['a', '']);
  });
});
