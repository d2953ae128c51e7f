import { describe, expect, it } from 'vitest';
import { systemClock } from '../../clock.js';
import { resolveConfig } from '../../config.js';
import { silentLogger } from '../../logger.js';
import { collectorsFromConfig } from '../registry.js';
import { EcsCollector } from './collector.js';
import { ecsCollectorFactory } from './factory.js';

function build(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): EcsCollector[] {
  const deps = { config: resolveConfig(config, env), clock: systemClock, logger: silentLogger, env };
  return collectorsFromConfig(deps, [ecsCollectorFactory]).filter((c): c is EcsCollector => c instanceof EcsCollector);
}

describe('ecs factory', () => {
  it('honours enabled; detect() only for auto; ECS_CONTAINER_METADATA_URI_V4 makes it available at once', async () => {
    expect(build({ ecs: { enabled: 'false' } })).toEqual([]);
    const [manual] = build({ ecs: { enabled: 'true' } });
    expect(manual?.detect).toBeUndefined();
    expect(manual?.fetchPrefixes).toEqual(['container_id://', 'ecs_task://']);
    await manual?.close();
    const [auto] = build({ ecs: { enabled: 'auto' } }, { ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/abc' });
    expect(await auto?.detect?.(new AbortController().signal)).toEqual({ available: true });
    await auto?.close();
  });

  it('without metadata variables, detect() asks the agent at ecs.agent_url', async () => {
    const [auto] = build({ ecs: { enabled: 'auto', agent_url: 'http://127.0.0.1:1' } });
    const result = await auto?.detect?.(new AbortController().signal);
    expect(result?.available).toBe(false);
    expect(result && !result.available ? result.reason : '').toContain('http://127.0.0.1:1');
    await auto?.close();
  });

  it('asks metadata v2 (a link-local address) only on Fargate unless told', async () => {
    const [plain] = build({ ecs: { enabled: 'true' } });
    const [fargate] = build({ ecs: { enabled: 'true' } }, { ECS_FARGATE: 'true' });
    const [forced] = build({ ecs: { enabled: 'true', metadata_v2: 'true' } });
    const [off] = build({ ecs: { enabled: 'true', metadata_v2: 'false' } }, { ECS_FARGATE: 'true' });
    expect([plain, fargate, forced, off].map((c) => c?.describe().includes('task metadata v2'))).toEqual([false, true, true, false]);
    await Promise.all([plain, fargate, forced, off].map((c) => c?.close()));
  });

  it('reads other tasks through their v4 endpoint (ecs.task_collection) only when Docker can give their env', async () => {
    const docker = build({ ecs: { enabled: 'true' }, docker: { host: 'unix:///nonexistent/docker.sock' } });
    const noDocker = build({ ecs: { enabled: 'true' }, docker: { enabled: 'false' } });
    const off = build({ ecs: { enabled: 'true', task_collection: false } });
    const fromAgentKey = build({ ecs: { enabled: 'true' } }, { DD_ECS_TASK_COLLECTION_ENABLED: 'false' });
    expect([docker, noDocker, off, fromAgentKey].map(([c]) => c?.collectsOtherTasks)).toEqual([true, false, false, false]);
    await Promise.all([docker, noDocker, off, fromAgentKey].map(([c]) => c?.close()));
  });
});
