import { timingSafeEqual } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTaggerError } from '../errors.js';
import { TokenChecker, readTokenFile } from './auth.js';

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

describe('readTokenFile', () => {
  it('fails with TAGGER_AUTH_TOKEN naming the file, for a missing, empty or multi-token file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tagger-auth-'));
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    const two = join(dir, 'two');
    writeFileSync(two, 'a b\n');
    for (const [file, reason] of [[join(dir, 'missing'), /cannot read: ENOENT/], [empty, /is empty/], [two, /one token on one line/]] as const) {
      let caught: unknown;
      try {
        readTokenFile(file);
      } catch (error) {
        caught = error;
      }
      expect(isTaggerError(caught, 'TAGGER_AUTH_TOKEN'), file).toBe(true);
      expect((caught as Error).message).toContain(file);
      expect((caught as Error).message).toMatch(reason);
    }
  });
});
