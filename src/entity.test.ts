import { describe, expect, it } from 'vitest';
import { containerEntityId, entityKindOf, parseCardinality, parseEntityId } from './entity.js';
import { isTaggerError } from './errors.js';

const HEX = '3f4b4e5a9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f';

describe('parseEntityId', () => {
  it.each([
    [`container_id://${HEX}`, `container_id://${HEX}`, false],
    [`docker://${HEX}`, `container_id://${HEX}`, false],
    [`containerd://${HEX}`, `container_id://${HEX}`, false],
    [`cri-o://${HEX}`, `container_id://${HEX}`, false],
    [`container_id://docker://${HEX}`, `container_id://${HEX}`, false],
    [`container_id://${HEX.toUpperCase()}`, `container_id://${HEX}`, false],
    [HEX, `container_id://${HEX}`, false],
    [HEX.slice(0, 12), `container_id://${HEX.slice(0, 12)}`, true],
    ['container_id://my-ctr_1.web', 'container_id://my-ctr_1.web', false],
    ['container_id://9f1a4d3e2c5b4a6f8e7d6c5b4a3f2e1d-1234567890', 'container_id://9f1a4d3e2c5b4a6f8e7d6c5b4a3f2e1d-1234567890', false],
    ['kubernetes_pod_uid://0a8e3b6e-1c0f-4b0e-9d5e-7a1b2c3d4e5f', 'kubernetes_pod_uid://0a8e3b6e-1c0f-4b0e-9d5e-7a1b2c3d4e5f', false],
    ['ecs_task://9f1a4d3e2c5b4a6f8e7d6c5b4a3f2e1d', 'ecs_task://9f1a4d3e2c5b4a6f8e7d6c5b4a3f2e1d', false],
    ['internal://global', 'internal://global', false],
    // The Datadog Agent's spelling of the global entity is the same entity here.
    ['internal://global-entity-id', 'internal://global', false],
  ])('accepts %s', (input, id, short) => {
    const parsed = parseEntityId(input);
    expect(parsed.id).toBe(id);
    expect(parsed.short).toBe(short);
  });

  it.each(['', 'nope', 'foo://bar', 'container_id://', 'container_id://has space', 'container_id://../etc', 'kubernetes_pod_uid://a/b', `container_id://${'x'.repeat(80)}`, 'ecs_task://', 'x'.repeat(400)])('rejects %j with a typed error', (input) => {
    let caught: unknown;
    try {
      parseEntityId(input);
    } catch (e) {
      caught = e;
    }
    expect(isTaggerError(caught, 'TAGGER_INVALID_ENTITY')).toBe(true);
  });

  it('builds container IDs from runtime IDs and tells kinds apart', () => {
    expect(containerEntityId(`containerd://${HEX}`)).toBe(`container_id://${HEX}`);
    expect(containerEntityId('nerdctl-name')).toBe('container_id://nerdctl-name');
    expect(entityKindOf('ecs_task://x')).toBe('ecs_task');
    expect(entityKindOf('other://x')).toBeUndefined();
  });
});

describe('parseCardinality', () => {
  it('accepts the three levels, orch, any case, and the Python constants', () => {
    expect(parseCardinality('LOW')).toBe('low');
    expect(parseCardinality('orch')).toBe('orchestrator');
    expect(parseCardinality('Orchestrator')).toBe('orchestrator');
    expect(parseCardinality('high')).toBe('high');
    expect(parseCardinality(2)).toBe('high');
  });
  it.each(['none', '', 'medium', 3, null, {}])('rejects %j', (input) => {
    expect(() => parseCardinality(input)).toThrow(/invalid cardinality/);
  });
});
