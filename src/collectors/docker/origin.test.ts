import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeInspect } from './decode.js';
import { dockerOrigin } from './origin.js';

const TESTDATA = new URL('./testdata/', import.meta.url);
const inspect = (name: string) => decodeInspect(JSON.parse(readFileSync(new URL(name, TESTDATA), 'utf8')));

// Expectations read by hand from each payload's State.Pid, HostConfig.NetworkMode and NetworkSettings.
const CASES: Array<[string, ReturnType<typeof dockerOrigin>]> = [
  ['captures/dockerd-20.10/container_inspect.json', { pid: 23898 }], // --network none: no address
  ['captures/podman-4.3/container_inspect.json', { pid: 8471, ips: ['10.88.0.16'] }],
  ['captures/podman-4.3/e2e_inspect.json', { pid: 15618, ips: ['10.88.0.35'] }],
  ['docker/inspect_compose_gluetun_watchtower.json', { pid: 3648, ips: ['172.19.0.2'] }], // a compose network
  ['docker/inspect_running_portainer_watchtower.json', { pid: 3854, ips: ['172.17.0.2'] }],
  ['docker/inspect_exited_watchtower.json', undefined],
  // The API's example is a stopped container (Pid 0, Running false) that still lists an address.
  ['docker/container_inspect_swagger_v1.47.json', { ips: ['172.17.0.2'] }],
];

describe('dockerOrigin on real inspect payloads', () => {
  for (const [name, expected] of CASES) {
    it(name, () => {
      expect(dockerOrigin(inspect(name))).toEqual(expected);
    });
  }
});

describe('dockerOrigin network modes', () => {
  const base = JSON.parse(readFileSync(new URL('docker/inspect_running_portainer_watchtower.json', TESTDATA), 'utf8')) as Record<string, Record<string, unknown>>;
  const withMode = (mode: string, networks?: Record<string, unknown>) =>
    dockerOrigin(decodeInspect({ ...base, HostConfig: { ...base.HostConfig, NetworkMode: mode }, NetworkSettings: { ...base.NetworkSettings, ...(networks ? { Networks: networks, IPAddress: '' } : {}) } }));
  it('host, none and another container\'s namespace give no address', () => {
    for (const mode of ['host', 'none', 'container:0123456789ab']) expect(withMode(mode)).toEqual({ pid: 3854 });
  });
  it('IPv6 addresses are canonical; an attachment to the host network is skipped', () => {
    expect(withMode('mynet', { mynet: { IPAddress: '172.20.0.5', GlobalIPv6Address: '2001:DB8::0:5' }, host: { IPAddress: '192.168.1.10' } })).toEqual({
      pid: 3854,
      ips: ['172.20.0.5', '2001:db8::5'],
    });
  });
});
