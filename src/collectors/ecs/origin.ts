/**
 * What origin detection needs of an ECS task, from task metadata v2/v3/v4, pure: the addresses of
 * its network attachments. In `awsvpc` mode every container of the task shares the task's ENI, so
 * its addresses are the task's; in `bridge` mode each container has its own; in `host` mode they
 * are the instance's, and resolve to nothing. Introspection payloads carry no addresses.
 */
import { containerEntityId, ECS_TASK_PREFIX } from '../../entity.js';
import { canonicalIp } from '../../origin/parse.js';
import type { OriginFacts } from '../../origin/types.js';
import type { EntityId } from '../../types.js';
import { arrayOf, isRecord } from '../json-fields.js';

/** Origin facts by entity (the task's and its containers'), for a task whose ID is `taskId`. */
export function ecsOrigins(raw: unknown, taskId: string): Map<EntityId, OriginFacts> {
  const byEntity = new Map<EntityId, Set<string>>();
  const add = (entity: EntityId, ips: Iterable<string>): void => {
    let set = byEntity.get(entity);
    if (!set) byEntity.set(entity, (set = new Set()));
    for (const ip of ips) set.add(ip);
  };
  if (isRecord(raw)) {
    for (const container of arrayOf(raw.Containers)) {
      if (!isRecord(container) || typeof container.DockerId !== 'string' || container.DockerId === '') continue;
      for (const network of arrayOf(container.Networks)) {
        if (!isRecord(network)) continue;
        const mode = typeof network.NetworkMode === 'string' ? network.NetworkMode : '';
        if (mode === 'host' || mode === 'none') continue;
        const ips = [...arrayOf(network.IPv4Addresses), ...arrayOf(network.IPv6Addresses)]
          .map((ip) => (typeof ip === 'string' ? canonicalIp(ip) : undefined))
          .filter((ip): ip is string => ip !== undefined);
        add(mode === 'awsvpc' ? ECS_TASK_PREFIX + taskId : containerEntityId(container.DockerId), ips);
      }
    }
  }
  const out = new Map<EntityId, OriginFacts>();
  for (const [entity, ips] of byEntity) if (ips.size > 0) out.set(entity, { ips: [...ips] });
  return out;
}
