import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { subscribeAbort } from './abort-fanout.js';

describe('subscribeAbort', () => {
  it('puts one listener on the signal for any number of subscribers, and calls each once on abort', () => {
    const controller = new AbortController();
    const calls: number[] = [];
    for (let i = 0; i < 50; i++) subscribeAbort(controller.signal, () => calls.push(i));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    controller.abort();
    expect(calls).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('an unsubscribed listener is not called, and the last one to go takes the signal’s listener with it', () => {
    const controller = new AbortController();
    const calls: string[] = [];
    const offA = subscribeAbort(controller.signal, () => calls.push('a'));
    const offB = subscribeAbort(controller.signal, () => calls.push('b'));
    offA();
    offA();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    offB();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // Subscribing again after that links the signal afresh.
    subscribeAbort(controller.signal, () => calls.push('c'));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    expect(calls).toEqual(['c']);
  });

  it('the same function subscribed twice is two subscriptions; a listener may unsubscribe another while they run', () => {
    const controller = new AbortController();
    const calls: string[] = [];
    const twice = (): void => {
      calls.push('twice');
    };
    subscribeAbort(controller.signal, twice);
    const offSecond = subscribeAbort(controller.signal, twice);
    subscribeAbort(controller.signal, () => {
      calls.push('first of the rest');
      offLast();
    });
    const offLast = subscribeAbort(controller.signal, () => calls.push('unsubscribed by the one before'));
    offSecond();
    subscribeAbort(controller.signal, twice);
    controller.abort();
    expect(calls).toEqual(['twice', 'first of the rest', 'twice']);
  });

  it('a signal already aborted never calls the listener, and adds none', () => {
    const signal = AbortSignal.abort();
    let called = false;
    const off = subscribeAbort(signal, () => (called = true));
    off();
    expect(called).toBe(false);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('a listener that throws does not stop the others, and its error is not swallowed', async () => {
    const controller = new AbortController();
    const calls: string[] = [];
    subscribeAbort(controller.signal, () => {
      throw new Error('listener failed');
    });
    subscribeAbort(controller.signal, () => calls.push('after'));
    const thrown = new Promise<unknown>((resolve) => {
      const original = globalThis.queueMicrotask;
      globalThis.queueMicrotask = (task: () => void): void => {
        globalThis.queueMicrotask = original;
        try {
          task();
        } catch (error) {
          resolve(error);
        }
      };
    });
    controller.abort();
    expect(calls).toEqual(['after']);
    expect(String(await thrown)).toMatch(/listener failed/);
  });
});
