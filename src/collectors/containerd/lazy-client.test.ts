import { describe, expect, it } from 'vitest';
import type { ContainerdApi, EventSubscription } from './client.js';
import { LazyContainerdApi } from './lazy-client.js';

/** A client that records what it was asked. */
function recording(): { api: ContainerdApi; calls: string[] } {
  const calls: string[] = [];
  const api: ContainerdApi = {
    target: 'unix:///fake.sock',
    listNamespaces: async () => (calls.push('listNamespaces'), ['default']),
    listContainers: async (ns) => (calls.push(`listContainers ${ns}`), []),
    getContainer: async (ns, id) => (calls.push(`getContainer ${ns} ${id}`), undefined),
    listTasks: async (ns) => (calls.push(`listTasks ${ns}`), []),
    getTask: async (ns, id) => (calls.push(`getTask ${ns} ${id}`), undefined),
    imageConfigDigest: async (ns, name) => (calls.push(`imageConfigDigest ${ns} ${name}`), 'sha256:x'),
    subscribe: (filters): EventSubscription => {
      calls.push(`subscribe ${filters.join(',')}`);
      let end: () => void = () => undefined;
      const done = new Promise<void>((resolve) => (end = resolve));
      return { cancel: () => (calls.push('cancel'), end()), done };
    },
    close: () => void calls.push('close'),
  };
  return { api, calls };
}

describe('LazyContainerdApi', () => {
  it('makes the client at the first call, once however many calls race, and passes every call on', async () => {
    const { api, calls } = recording();
    let made = 0;
    const lazy = new LazyContainerdApi('unix:///fake.sock', async () => (made++, api));
    expect(made).toBe(0);
    expect(lazy.target).toBe('unix:///fake.sock');
    lazy.close(); // nothing made yet: nothing to close
    const answers = await Promise.all([lazy.listNamespaces(), lazy.listContainers('k8s.io'), lazy.getTask('k8s.io', 'c1'), lazy.imageConfigDigest('default', 'busybox')]);
    expect(made).toBe(1);
    expect(answers).toEqual([['default'], [], undefined, 'sha256:x']);
    await lazy.getContainer('default', 'c2');
    await lazy.listTasks('default');
    lazy.close();
    expect(calls).toEqual(['listNamespaces', 'listContainers k8s.io', 'getTask k8s.io c1', 'imageConfigDigest default busybox', 'getContainer default c2', 'listTasks default', 'close']);
  });

  it('subscribes once the client is made; a cancel before that opens no stream', async () => {
    const { api, calls } = recording();
    const early = new LazyContainerdApi('t', async () => api);
    const cancelled = early.subscribe(['topic~="/tasks/"'], () => undefined);
    cancelled.cancel();
    await cancelled.done;
    expect(calls).toEqual([]);
    const sub = early.subscribe(['a', 'b'], () => undefined);
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(['subscribe a,b']);
    sub.cancel();
    await sub.done;
    expect(calls).toEqual(['subscribe a,b', 'cancel']);
  });

  it('a client that fails to load is tried again at the next call', async () => {
    const { api } = recording();
    let attempts = 0;
    const lazy = new LazyContainerdApi('t', async () => {
      attempts++;
      if (attempts === 1) throw new Error('cannot load protos');
      return api;
    });
    await expect(lazy.listNamespaces()).rejects.toThrow('cannot load protos');
    expect(await lazy.listNamespaces()).toEqual(['default']);
    expect(attempts).toBe(2);
  });
});
