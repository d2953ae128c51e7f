import { timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TokenChecker } from './auth.js';

const TOKEN = 'ab'.repeat(32);

/** A checker whose compare is the real timingSafeEqual, recorded. */
function recorded(): { checker: TokenChecker; calls: Array<[Buffer, Buffer]> } {
  const calls: Array<[Buffer, Buffer]> = [];
  const checker = new TokenChecker(TOKEN, (a, b) => {
    calls.push([Buffer.from(a), Buffer.from(b)]);
    return timingSafeEqual(a, b);
  });
  return { checker, calls };
}

describe('TokenChecker', () => {
  it('accepts the token, with the Bearer scheme in any case (RFC 7235)', () => {
    const { checker } = recorded();
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) expect(checker.matches(`${scheme} ${TOKEN}`), scheme).toBe(true);
  });

  it.each([
    ['undefined', undefined],
    ['no scheme', TOKEN],
    ['another scheme', `Basic ${TOKEN}`],
    ['an empty token', 'Bearer '],
    ['a token with a suffix', `Bearer ${TOKEN}0`],
  ])('refuses %s', (_name, header) => {
    expect(recorded().checker.matches(header)).toBe(false);
  });

  it('compares a wrong token of the right length with timingSafeEqual, never with ===', () => {
    const { checker, calls } = recorded();
    const wrong = `${TOKEN.slice(0, -1)}0`;
    expect(checker.matches(`Bearer ${wrong}`)).toBe(false);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.[0].toString()).toBe(wrong);
    expect(calls[0]?.[1].toString()).toBe(TOKEN);
  });

  it('checks the length first, and still does one timingSafeEqual of equal-length buffers', () => {
    const { checker, calls } = recorded();
    for (const header of ['Bearer short', `Bearer ${TOKEN}${TOKEN}`, 'Basic x']) {
      calls.length = 0;
      expect(checker.matches(header)).toBe(false);
      // timingSafeEqual throws on unequal lengths: a call that got here compared equal lengths.
      expect(calls, header).toHaveLength(1);
      expect(calls[0]?.[0].length).toBe(calls[0]?.[1].length);
      expect(calls[0]?.[0].length).toBe(TOKEN.length);
    }
  });

  it('the right token goes through the compare too', () => {
    const { checker, calls } = recorded();
    expect(checker.matches(`Bearer ${TOKEN}`)).toBe(true);
    expect(calls).toHaveLength(1);
  });
});
