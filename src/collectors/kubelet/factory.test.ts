import { describe, expect, it } from 'vitest';
import { systemClock } from '../../clock.js';
import { resolveConfig } from '../../config.js';
import { silentLogger } from '../../logger.js';
import { collectorsFromConfig } from '../registry.js';
import { KubeletCollector } from './collector.js';
import { kubeletCollectorFactory } from './factory.js';

function build(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): KubeletCollector[] {
  const deps = { config: resolveConfig(config), clock: systemClock, logger: silentLogger, env };
  return collectorsFromConfig(deps, [kubeletCollectorFactory]).filter((c): c is KubeletCollector => c instanceof KubeletCollector);
}

describe('kubelet factory', () => {
  it('is registered, honours enabled and poll_interval, and offers detect() only for auto', async () => {
    expect(build({ kubelet: { enabled: 'false' } })).toEqual([]);
    const [manual] = build({ kubelet: { enabled: 'true', poll_interval: '2s' } });
    expect(manual?.pullIntervalMs).toBe(2_000);
    expect(manual?.detect).toBeUndefined();
    await manual?.close();
    const [auto] = build({ kubelet: { enabled: 'auto' } });
    expect(auto?.detect).toBeTypeOf('function');
    await auto?.close();
  });

  it('defaults the URL to https on NODE_IP, port 10250', async () => {
    // Port 1 on loopback: nothing listens, so detect() fails fast and names the URL it tried.
    const [auto] = build({ kubelet: { enabled: 'auto' } }, { NODE_IP: '127.0.0.1' });
    const result = await auto?.detect?.(new AbortController().signal);
    expect(result && !result.available ? result.reason : '').toContain('https://127.0.0.1:10250');
    await auto?.close();
    const [explicit] = build({ kubelet: { enabled: 'auto', url: 'http://127.0.0.1:1' } }, { NODE_IP: '10.9.9.9' });
    const other = await explicit?.detect?.(new AbortController().signal);
    expect(other && !other.available ? other.reason : '').toContain('http://127.0.0.1:1');
    await explicit?.close();
  });
});
