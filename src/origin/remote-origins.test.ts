import { describe, expect, it } from 'vitest';
import { parseOrigin } from './parse.js';
import { RemoteOrigins, toOrigin } from './remote-origins.js';
import type { Origin, OriginResolution } from './types.js';

const POD = 'kubernetes_pod_uid://u1';

function setup(answer: (origin: Origin) => OriginResolution | undefined, ttlMs = 10_000) {
  const asked: Origin[] = [];
  const stored = new Set<string>([POD]);
  const origins = new RemoteOrigins({
    ask: (origin) => {
      asked.push(origin);
      return Promise.resolve(answer(origin));
    },
    has: (id) => stored.has(id),
    ttlMs,
  });
  return { asked, stored, origins };
}

describe('RemoteOrigins (a replica asking its daemon)', () => {
  it('a synchronous miss asks once in the background; the next lookup answers from memory', async () => {
    const { asked, origins } = setup(() => ({ containerId: null, entity: POD }));
    const ip = parseOrigin({ ip: '10.244.0.6' });
    expect(origins.resolveSync(ip)).toBeUndefined();
    expect(origins.resolveSync(ip)).toBeUndefined();
    expect(origins.pending).toBe(1);
    await expect(origins.resolve(ip)).resolves.toEqual({ containerId: null, entity: POD });
    expect(origins.resolveSync(ip)).toEqual({ containerId: null, entity: POD });
    expect(asked).toEqual([{ ip: '10.244.0.6' }]);
  });

  it('an answer naming an entity the replica no longer has is no answer', async () => {
    const { stored, origins } = setup(() => ({ containerId: null, entity: POD }));
    const ip = parseOrigin({ ip: '10.244.0.6' });
    await origins.resolve(ip);
    stored.delete(POD);
    expect(origins.resolveSync(ip)).toBeUndefined();
  });

  it('unknown origins are kept too: a flood makes one request per TTL', async () => {
    const { asked, origins } = setup(() => undefined);
    const inode = parseOrigin({ cgroupInode: 4242 });
    await expect(origins.resolve(inode)).resolves.toBeUndefined();
    for (let i = 0; i < 100; i++) expect(origins.resolveSync(inode)).toBeUndefined();
    expect(asked).toHaveLength(1);
  });

  it('a failing daemon is not remembered: the next lookup asks again', async () => {
    let calls = 0;
    const origins = new RemoteOrigins({ ask: () => (calls++ === 0 ? Promise.reject(new Error('down')) : Promise.resolve({ containerId: null, entity: POD })), has: () => true });
    const ip = parseOrigin({ ip: '10.0.0.1' });
    await expect(origins.resolve(ip)).rejects.toThrow('down');
    await expect(origins.resolve(ip)).resolves.toEqual({ containerId: null, entity: POD });
  });

  it('toOrigin gives back what the daemon parses the same way', () => {
    for (const origin of [{ pid: 7 }, { cgroupInode: 9 }, { containerId: 'abc' }, { ip: '10.0.0.1' }, { podUid: 'u', containerName: 'c' }, { externalData: 'it-true,cn-c,pu-u' }, { externalData: 'pu-u' }] as Origin[]) {
      const parsed = parseOrigin(origin);
      expect(parseOrigin(toOrigin(parsed))).toEqual(parsed);
    }
  });
});
