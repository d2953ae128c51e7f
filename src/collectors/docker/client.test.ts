import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isTaggerError } from '../../errors.js';
import { API_VERSION_OURS, DockerClient, compareApiVersions, negotiateApiVersion } from './client.js';
import { decodeEventLine, decodeVersion } from './decode.js';
import { FakeDocker } from './test-support/fake-docker.js';
import type { DockerEvent } from './types.js';

const TESTDATA = new URL('./testdata/', import.meta.url);
const text = (name: string): string => readFileSync(new URL(name, TESTDATA), 'utf8');
const json = (name: string): Record<string, unknown> => JSON.parse(text(name)) as Record<string, unknown>;

describe('API version negotiation', () => {
  it('speaks the daemon version when it is older than ours', () => {
    expect(negotiateApiVersion(decodeVersion(json('captures/dockerd-20.10/version.json')))).toBe('1.41');
    expect(negotiateApiVersion(decodeVersion(json('captures/podman-4.3/version.json')))).toBe('1.41');
    expect(negotiateApiVersion(decodeVersion(json('docker/version_swagger_field_examples.json')))).toBe('1.47');
  });

  it('caps at ours for a newer daemon that still accepts ours', () => {
    expect(API_VERSION_OURS).toBe('1.47');
    expect(negotiateApiVersion({ ApiVersion: '1.52', MinAPIVersion: '1.44' })).toBe('1.47');
  });

  it('refuses a daemon below 1.40, one whose minimum is above ours, and one without a version', () => {
    const refused = (v: Parameters<typeof negotiateApiVersion>[0]): string => {
      try {
        negotiateApiVersion(v);
      } catch (error) {
        expect(isTaggerError(error, 'TAGGER_PERMANENT')).toBe(true);
        return (error as Error).message;
      }
      throw new Error('not refused');
    };
    expect(refused(decodeVersion(json('docker/version_docs_v1.24.json')))).toContain('1.24 is too old');
    expect(refused({ ApiVersion: '1.39' })).toContain('too old');
    expect(refused({ ApiVersion: '1.60', MinAPIVersion: '1.50' })).toContain('requires API 1.50');
    expect(refused({})).toContain('unknown');
  });

  it('compares versions numerically', () => {
    expect(compareApiVersions('1.9', '1.41')).toBeLessThan(0);
    expect(compareApiVersions('1.41', '1.41')).toBe(0);
    expect(compareApiVersions('2.0', '1.99')).toBeGreaterThan(0);
  });
});

/** Per events fixture: container events in order (action + first 12 of the ID) and the first timeNano, by hand. */
const EVENT_FIXTURES: Array<[string, { lines: number; containerActions: string[]; firstTimeNano: string }]> = [
  [
    'captures/dockerd-20.10/events_stream.jsonl',
    { lines: 9, containerActions: ['create', 'start', 'kill', 'kill', 'die', 'stop', 'destroy'], firstTimeNano: '1795843303562820864' },
  ],
  [
    'captures/podman-4.3/e2e_events.jsonl',
    { lines: 8, containerActions: ['create', 'init', 'start', 'stop', 'die', 'cleanup', 'cleanup', 'remove'], firstTimeNano: '1795842947339369752' },
  ],
  [
    'docker/events_run_rm_2025_fluentbit.jsonl',
    { lines: 8, containerActions: ['create', 'attach', 'start', 'die', 'destroy'], firstTimeNano: '1764598461000012944' },
  ],
  [
    'docker/events_docs_v1.24_example.jsonl',
    { lines: 9, containerActions: ['create', 'attach', 'start', 'resize', 'die', 'destroy'], firstTimeNano: '1461943101301854122' },
  ],
];

describe('decodeEventLine on fixtures', () => {
  for (const [file, want] of EVENT_FIXTURES) {
    it(file, () => {
      const lines = text(file).split('\n').filter((l) => l.trim() !== '');
      expect(lines).toHaveLength(want.lines);
      const events = lines.map(decodeEventLine);
      expect(events.every((e) => e !== undefined)).toBe(true);
      expect(events.filter((e) => e?.type === 'container').map((e) => e?.action)).toEqual(want.containerActions);
      expect(events[0]?.timeNano).toBe(BigInt(want.firstTimeNano));
      lines.forEach((line, i) => expect(line).toContain(`"timeNano":${String(events[i]?.timeNano)}`));
    });
  }

  it('every line of the podman CLI capture: remove, init and cleanup are container actions with labels', () => {
    const events = text('captures/podman-4.3/docker_cli_events.jsonl').split('\n').filter(Boolean).map(decodeEventLine);
    expect(events).toHaveLength(13);
    expect(events.filter((e) => e?.action === 'remove').map((e) => e?.id.slice(0, 12))).toEqual(['b45cd1ef194a', 'c51988bc814e']);
    expect(events[0]?.attributes).toMatchObject({ team: 'core', image: 'localhost/busybox:latest' });
  });

  it('timeNano stays exact where JSON.parse rounds it', () => {
    const line = text('captures/dockerd-20.10/events_stream.jsonl').split('\n')[2] as string;
    expect(decodeEventLine(line)?.timeNano).toBe(1795843303844063990n);
    expect(BigInt((JSON.parse(line) as { timeNano: number }).timeNano)).not.toBe(1795843303844063990n);
  });

  it('the 2019 compose capture: 31 events, 21 of them container events', () => {
    const events = text('docker/events_compose_2019_docker19.03.jsonl').split('\n').filter(Boolean).map(decodeEventLine);
    expect(events).toHaveLength(31);
    expect(events.filter((e) => e?.type === 'container')).toHaveLength(21);
    expect(events.filter((e) => e?.type === 'container' && e.action === 'start').map((e) => e?.id.slice(0, 12))).toEqual(['cbac46d62cee', '278ed6f4ebac', '278ed6f4ebac', 'cbac46d62cee']);
  });

  it('splits actions with a detail, strips RS, ignores unknown fields, keeps a label named timeNano apart', () => {
    const id = 'a'.repeat(64);
    const health = decodeEventLine(`\x1e{"Type":"container","Action":"health_status: healthy","Actor":{"ID":"${id}","Attributes":{"timeNano":"12"}},"scope":"local","newField":{"x":[1]},"time":1795843303,"timeNano":1795843303562820864}`);
    expect(health).toEqual({ type: 'container', action: 'health_status', detail: 'healthy', id, attributes: { timeNano: '12' }, timeNano: 1795843303562820864n });
    const exec = decodeEventLine(`{"Type":"container","Action":"exec_start: sh -c echo hi","Actor":{"ID":"${id}","Attributes":{}},"time":1795843303}`);
    expect(exec).toMatchObject({ action: 'exec_start', detail: 'sh -c echo hi', timeNano: 1795843303000000000n });
    expect(decodeEventLine('not json')).toBeUndefined();
    expect(decodeEventLine('[1,2]')).toBeUndefined();
    expect(decodeEventLine('{"Type":"container"}')).toBeUndefined();
  });
});

describe('DockerClient against a fake daemon', () => {
  let fake: FakeDocker | undefined;
  let client: DockerClient | undefined;
  afterEach(async () => {
    await client?.close();
    await fake?.close();
    client = undefined;
    fake = undefined;
  });

  async function setup(): Promise<{ fake: FakeDocker; client: DockerClient }> {
    fake = await new FakeDocker(json('captures/dockerd-20.10/e2e_inspect.json')).start();
    client = new DockerClient(fake.host);
    return { fake, client };
  }

  it('pings, negotiates, lists with the daemon time, inspects, and maps 404 to undefined', async () => {
    const { fake, client } = await setup();
    fake.put(json('captures/dockerd-20.10/container_inspect.json'));
    expect(await client.ping()).toEqual({ ok: true });
    expect(await client.negotiate()).toBe('1.41');
    const list = await client.listContainers();
    expect(list.containers.map((c) => [c.Id, c.Names, c.Labels])).toEqual([['71f6295a3584e9d16cc14215d780933b23511e6b2b68666f7a8d03ef95e44a64', ['/t1'], { team: 'core' }]]);
    expect(Math.abs((list.serverTimeMs ?? 0) - Date.now())).toBeLessThan(5_000);
    expect((await client.inspect('71f6295a3584'))?.Name).toBe('/t1');
    expect(await client.inspect('nope')).toBeUndefined();
    expect(fake.requests.map((r) => r.path)).toEqual(['/_ping', '/version', '/v1.41/containers/json', '/v1.41/containers/71f6295a3584/json', '/v1.41/containers/nope/json']);
  });

  it('ping reports a missing socket without throwing, and not as a refusal', async () => {
    const c = new DockerClient('unix:///nonexistent/docker.sock');
    const ping = await c.ping();
    await c.close();
    expect(ping.ok).toBe(false);
    expect(ping).not.toHaveProperty('denied');
  });

  it('ping reports a daemon that answers 401 or 403 as a refusal (an authorization plugin, a proxy)', async () => {
    for (const status of [401, 403]) {
      const server = createServer((_req, res) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end('{"message":"authorization denied by plugin"}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const c = new DockerClient(`tcp://127.0.0.1:${port}`);
      const ping = await c.ping();
      await c.close();
      await new Promise((resolve) => server.close(resolve));
      expect(ping).toMatchObject({ ok: false, denied: true });
    }
  });

  it('reads every events fixture intact when the stream is cut at random byte boundaries', async () => {
    const { fake, client } = await setup();
    await client.negotiate();
    const files = [...EVENT_FIXTURES.map(([f]) => f), 'captures/podman-4.3/docker_cli_events.jsonl', 'docker/events_compose_2019_docker19.03.jsonl', 'captures/dockerd-20.10/events_cli_variants.jsonl'];
    // A multi-byte label value too, so a cut can fall inside a UTF-8 character.
    const extra = `\x1e{"Type":"container","Action":"start","Actor":{"ID":"${'b'.repeat(64)}","Attributes":{"team":"équipe-🚀"}},"time":1,"timeNano":1795843303562820865}\r\n`;
    const whole = Buffer.from(files.map(text).join('') + extra, 'utf8');
    const expected = (files.map(text).join('') + extra).split('\n').filter((l) => l.trim() !== '').map(decodeEventLine);
    let seed = 42;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 3; round++) {
      const got: DockerEvent[] = [];
      const done = client.streamEvents('0.000000000', (e) => got.push(e));
      await fake.waitForStreams(1);
      for (let at = 0; at < whole.length; ) {
        const size = 1 + Math.floor(random() * 300);
        fake.write(whole.subarray(at, at + size));
        at += size;
        if (random() < 0.3) await new Promise((r) => setTimeout(r, 1));
      }
      fake.endStreams();
      await done;
      expect(got).toHaveLength(expected.length);
      expect(got).toEqual(expected);
      expect(got.at(-1)).toMatchObject({ attributes: { team: 'équipe-🚀' }, timeNano: 1795843303562820865n });
    }
    expect(fake.eventRequests()[0]).toBe(`/v1.41/events?since=0.000000000&filters=${encodeURIComponent('{"type":["container"]}')}`);
  });

  it('counts a non-JSON line and carries on', async () => {
    const { fake, client } = await setup();
    await client.negotiate();
    const got: DockerEvent[] = [];
    const bad: string[] = [];
    const done = client.streamEvents('1.0', (e) => got.push(e), { onBadLine: (l) => bad.push(l) });
    await fake.waitForStreams(1);
    fake.write('garbage\n');
    fake.write(text('captures/dockerd-20.10/events_stream.jsonl'));
    fake.endStreams();
    await done;
    expect(bad).toEqual(['garbage']);
    expect(got).toHaveLength(9);
  });
});
