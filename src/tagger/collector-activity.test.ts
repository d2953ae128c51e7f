import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { silentLogger, type Logger } from '../logger.js';
import { CollectorActivity, RECENT_ERRORS, recordingLogger } from './collector-activity.js';

describe('CollectorActivity', () => {
  it('keeps the last distinct errors, newest last, a repeat in a row counted on its entry', () => {
    const clock = new ManualClock(1_000);
    const activity = new CollectorActivity(clock);
    expect(activity.view()).toEqual({ lastSyncAt: undefined, lastUpdateAt: undefined, recentErrors: [] });
    activity.error('a');
    clock.advance(10);
    activity.error('a');
    expect(activity.view().recentErrors).toEqual([{ at: 1_010, message: 'a', count: 2 }]);
    for (let i = 0; i < RECENT_ERRORS + 2; i++) activity.error(`e${i}`);
    const messages = activity.view().recentErrors.map((e) => e.message);
    expect(messages).toHaveLength(RECENT_ERRORS);
    expect(messages.at(-1)).toBe(`e${RECENT_ERRORS + 1}`);
    expect(messages).not.toContain('a');
  });

  it('stamps syncs and updates with the clock', () => {
    const clock = new ManualClock(5);
    const activity = new CollectorActivity(clock);
    activity.synced();
    clock.advance(7);
    activity.updated();
    expect(activity.view()).toMatchObject({ lastSyncAt: 5, lastUpdateAt: 12 });
  });
});

describe('recordingLogger', () => {
  it('records warn and error lines (with their error or reason) from it and its children, and passes every line on', () => {
    const seen: Array<[string, unknown[]]> = [];
    const inner: Logger = {
      trace: (...args) => void seen.push(['trace', args]),
      debug: (...args) => void seen.push(['debug', args]),
      info: (...args) => void seen.push(['info', args]),
      warn: (...args) => void seen.push(['warn', args]),
      error: (...args) => void seen.push(['error', args]),
      child: () => inner,
    };
    const activity = new CollectorActivity(new ManualClock(0));
    const log = recordingLogger(inner, activity);
    log.info({ n: 1 }, 'started');
    log.debug('detail');
    log.warn({ error: 'ECONNRESET' }, 'docker session failed; will reconnect');
    log.child({ resource: 'pods' }).error({ reason: 'bad' }, 'handler failed');
    log.warn('plain text');
    log.error({ other: 1 }, 'no reason given');
    expect(activity.view().recentErrors.map((e) => e.message)).toEqual(['docker session failed; will reconnect: ECONNRESET', 'handler failed: bad', 'plain text', 'no reason given']);
    expect(seen.map(([level]) => level)).toEqual(['info', 'debug', 'warn', 'error', 'warn', 'error']);
    // Arity kept: a one-argument call stays one argument.
    expect(seen[1]?.[1]).toEqual(['detail']);
    expect(recordingLogger(silentLogger, activity).child({})).toBeDefined();
  });
});
