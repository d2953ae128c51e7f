import { describe, expect, it } from 'vitest';
import { InvalidOriginError } from '../errors.js';
import { canonicalIp, parseExternalData, parseOrigin, parseOriginQuery } from './parse.js';

const q = (query: string) => parseOriginQuery(new URLSearchParams(query));
const ID = '84cf3472a20d1bfb4b50e48b6ff50d96dfcd812652d76dd907951e6f98997bce';

/** The InvalidOriginError a call throws (fails the test when it throws nothing or something else). */
function invalid(fn: () => unknown): InvalidOriginError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidOriginError) return error;
    throw error;
  }
  throw new Error('expected an InvalidOriginError');
}

describe('parseOriginQuery: exactly one origin', () => {
  it('each form', () => {
    expect(q('pid=42')).toEqual({ kind: 'pid', pid: 42 });
    expect(q('cgroup_inode=4026531835')).toEqual({ kind: 'cgroup_inode', inode: 4026531835 });
    expect(q('cgroup_inode=in-12345')).toEqual({ kind: 'cgroup_inode', inode: 12345 });
    expect(q(`container_id=docker://${ID}`)).toEqual({ kind: 'container_id', containerId: ID });
    expect(q(`container_id=ci-${ID}`)).toEqual({ kind: 'container_id', containerId: ID });
    expect(q(`container_id=${ID.slice(0, 12).toUpperCase()}`)).toEqual({ kind: 'container_id', containerId: ID.slice(0, 12) });
    expect(q('container_id=my-ctr-name')).toEqual({ kind: 'container_id', containerId: 'my-ctr-name' });
    expect(q('external_data=it-false,cn-app,pu-3ea3ef66-5f89-43b7-b88b-6ee26f5b18a4')).toEqual({
      kind: 'pod_container',
      podUid: '3ea3ef66-5f89-43b7-b88b-6ee26f5b18a4',
      containerName: 'app',
      init: false,
    });
    expect(q('pod_uid=abc&container_name=web')).toEqual({ kind: 'pod_container', podUid: 'abc', containerName: 'web', init: undefined });
    expect(q('pod_uid=abc')).toEqual({ kind: 'pod_container', podUid: 'abc', containerName: undefined, init: undefined });
    expect(q('ip=10.244.0.6')).toEqual({ kind: 'ip', ip: '10.244.0.6' });
  });

  it('none, two, or a repeated one is an error naming the parameters', () => {
    expect(invalid(() => q('cardinality=high')).message).toMatch(/pid, cgroup_inode, container_id, external_data, pod_uid, ip/);
    const two = invalid(() => q('pid=1&ip=10.0.0.1'));
    expect(two.parameter).toBe('ip');
    expect(two.message).toMatch(/pid and ip/);
    expect(invalid(() => q('pid=1&pid=2')).message).toBe('invalid pid: given more than once');
    expect(invalid(() => q('container_name=web')).parameter).toBe('pod_uid');
    expect(invalid(() => q('pid=1&container_name=web')).parameter).toBe('container_name');
  });

  it('non-numeric, out of range and oversized values', () => {
    for (const bad of ['pid=', 'pid=01', 'pid=abc', 'pid=0', 'pid=-1', 'pid=4194305', 'pid=1.5', 'pid=0x10', 'pid=%2012']) expect(invalid(() => q(bad)).parameter).toBe('pid');
    for (const bad of ['cgroup_inode=', 'cgroup_inode=x1', 'cgroup_inode=0', 'cgroup_inode=9007199254740992', 'cgroup_inode=1e5', `cgroup_inode=${'9'.repeat(40)}`]) {
      expect(invalid(() => q(bad)).parameter).toBe('cgroup_inode');
    }
    for (const bad of ['container_id=', 'container_id=kubernetes_pod_uid://abc', `container_id=${'a'.repeat(400)}`, 'container_id=no spaces']) {
      expect(invalid(() => q(bad)).parameter).toBe('container_id');
    }
    for (const bad of ['ip=', 'ip=10.0.0', 'ip=010.0.0.1', 'ip=host.example', `ip=${'1'.repeat(80)}`]) expect(invalid(() => q(bad)).parameter).toBe('ip');
    expect(invalid(() => q(`pod_uid=${'a'.repeat(300)}`)).parameter).toBe('pod_uid');
    expect(invalid(() => q('pod_uid=abc&container_name=a%2Fb')).parameter).toBe('container_name');
  });
});

describe('parseExternalData (the admission controller\'s DD_EXTERNAL_ENV)', () => {
  it('items in any order; it- takes Go booleans; unknown items are skipped', () => {
    expect(parseExternalData('pu-u1,it-true,cn-init-db')).toEqual({ kind: 'pod_container', podUid: 'u1', containerName: 'init-db', init: true });
    expect(parseExternalData('it-1,cn-a,pu-u1').init).toBe(true);
    expect(parseExternalData('it-F,cn-a,pu-u1').init).toBe(false);
    expect(parseExternalData('xx-future,pu-u1')).toEqual({ kind: 'pod_container', podUid: 'u1', containerName: undefined, init: undefined });
  });
  it('malformed', () => {
    for (const bad of ['', 'it-true,cn-a', 'it-yes,cn-a,pu-u', 'pu-', 'pu-u,pu-v', 'cn-a,cn-b,pu-u', 'cn-,pu-u', 'pu-a b', 'x'.repeat(2000)]) {
      const error = invalid(() => parseExternalData(bad));
      expect(error.parameter).toBe('external_data');
      expect(error.message).toMatch(/^invalid external_data/);
    }
  });
});

describe('parseOrigin (the library form)', () => {
  it('camelCase keys, numbers or digit strings', () => {
    expect(parseOrigin({ pid: 7 })).toEqual({ kind: 'pid', pid: 7 });
    expect(parseOrigin({ cgroupInode: 99 })).toEqual({ kind: 'cgroup_inode', inode: 99 });
    expect(parseOrigin({ podUid: 'u', containerName: 'c' })).toEqual({ kind: 'pod_container', podUid: 'u', containerName: 'c', init: undefined });
    expect(parseOrigin({ ip: '::ffff:10.1.2.3' })).toEqual({ kind: 'ip', ip: '10.1.2.3' });
  });
  it('errors name the key', () => {
    expect(invalid(() => parseOrigin({ pid: 1.5 })).parameter).toBe('pid');
    expect(invalid(() => parseOrigin({ pid: 1, ip: '10.0.0.1' } as never)).parameter).toBe('ip');
    expect(invalid(() => parseOrigin({ containerId: 42 } as never)).parameter).toBe('containerId');
    expect(invalid(() => parseOrigin({} as never)).parameter).toBe('origin');
    expect(invalid(() => parseOrigin(null as never)).parameter).toBe('origin');
  });
});

describe('canonicalIp', () => {
  it('one spelling per address', () => {
    expect(canonicalIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(canonicalIp('::ffff:a01:203')).toBe('10.1.2.3');
    expect(canonicalIp('fe80::1%eth0')).toBe('fe80::1');
    expect(canonicalIp('10.244.0.6')).toBe('10.244.0.6');
    expect(canonicalIp('')).toBeUndefined();
    expect(canonicalIp('10.244.0.256')).toBeUndefined();
  });
});
