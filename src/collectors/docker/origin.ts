/**
 * What origin detection needs of a Docker (or Podman) container, from its inspect, pure: the init
 * PID of a running container (its cgroup gives the inode DogStatsD clients send) and the
 * container's own addresses. A container on the host's network, on none, or in another
 * container's namespace (`container:<id>`) has no address of its own: an IP never resolves to it.
 */
import { canonicalIp } from '../../origin/parse.js';
import type { OriginFacts } from '../../origin/types.js';
import type { ContainerInspect } from './types.js';

export function dockerOrigin(inspect: ContainerInspect): OriginFacts | undefined {
  const running = inspect.State.Running || inspect.State.Paused || inspect.State.Restarting;
  const pid = running && inspect.State.Pid !== undefined && inspect.State.Pid > 0 ? inspect.State.Pid : undefined;
  const ips = ownAddresses(inspect);
  if (pid === undefined && ips.length === 0) return undefined;
  return { ...(pid !== undefined ? { pid } : {}), ...(ips.length > 0 ? { ips } : {}) };
}

function ownAddresses(inspect: ContainerInspect): string[] {
  const mode = inspect.HostConfig?.NetworkMode ?? '';
  const settings = inspect.NetworkSettings;
  if (!settings || mode === 'host' || mode === 'none' || mode.startsWith('container:')) return [];
  const out = new Set<string>();
  const add = (raw: string): void => {
    const ip = raw === '' ? undefined : canonicalIp(raw);
    if (ip !== undefined) out.add(ip);
  };
  add(settings.IPAddress);
  add(settings.GlobalIPv6Address);
  for (const [name, network] of Object.entries(settings.Networks)) {
    // A container attached to the host network among others: that address is the host's.
    if (name === 'host') continue;
    add(network.IPAddress);
    add(network.GlobalIPv6Address);
  }
  return [...out];
}
