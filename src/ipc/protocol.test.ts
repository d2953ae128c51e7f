import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEntityId, type ParsedEntity } from '../entity.js';
import { isTaggerError } from '../errors.js';
import { parseOriginQuery } from '../origin/parse.js';
import type { EntityEvent } from '../types.js';
import {
  decodeEncodedTags,
  decodeStreamLine,
  encodeEvent,
  entitiesBody,
  errorResponse,
  parseCardinalityParam,
  requiredParam,
  originEcho,
  originQuery,
  parsePrefixParams,
  splitEntityLine,
} from './protocol.js';

const q = (s: string): URLSearchParams => new URLSearchParams(s);
const ID = 'container_id://' + 'a'.repeat(64);

describe('request validation', () => {
  const parseEntityParam = (params: URLSearchParams): ParsedEntity => parseEntityId(requiredParam(params, 'entity'));
  const thrown = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (error) {
      return error;
    }
    return undefined;
  };
  it('entity: canonical, runtime-prefixed, short, and malformed', () => {
    expect(parseEntityParam(q(`entity=${encodeURIComponent(ID)}`)).id).toBe(ID);
    expect(parseEntityParam(q(`entity=docker://${'A'.repeat(64)}`)).id).toBe(ID);
    expect(parseEntityParam(q('entity=aaaaaaaaaaaa')).short).toBe(true);
    expect(() => parseEntityParam(q(''))).toThrow('missing parameter entity');
    expect(() => parseEntityParam(q('entity=nope'))).toThrow(/invalid entity ID/);
    expect(() => parseEntityParam(q('entity=a&entity=b'))).toThrow('more than once');
  });
  it('cardinality: default low, names, the numeric levels, bad values', () => {
    expect(parseCardinalityParam(q(''))).toBe('low');
    expect(parseCardinalityParam(q('cardinality=orchestrator'))).toBe('orchestrator');
    expect(parseCardinalityParam(q('cardinality=orch'))).toBe('orchestrator');
    expect(parseCardinalityParam(q('cardinality=2'))).toBe('high');
    expect(() => parseCardinalityParam(q('cardinality=medium'))).toThrow(/invalid cardinality/);
    expect(() => parseCardinalityParam(q('cardinality=3'))).toThrow(/invalid cardinality/);
  });
  it('prefix: kinds and the start of an ID pass, anything else fails', () => {
    expect(parsePrefixParams(q('prefix=container_id://&prefix=ecs_task://abc'))).toEqual(['container_id://', 'ecs_task://abc']);
    expect(parsePrefixParams(q('prefix=kube'))).toEqual(['kube']);
    expect(() => parsePrefixParams(q('prefix=foo://'))).toThrow(/matches no entity kind/);
    expect(() => parsePrefixParams(q(Array.from({ length: 17 }, () => 'prefix=container_id://').join('&')))).toThrow(/at most 16/);
    const tooMany = thrown(() => parsePrefixParams(q(Array.from({ length: 17 }, () => 'prefix=container_id://').join('&'))));
    expect(isTaggerError(tooMany, 'TAGGER_BAD_REQUEST')).toBe(true);
    expect(tooMany).toMatchObject({ parameter: 'prefix' });
  });
  it('origin: the echo of each form, and the query of a library origin', () => {
    const echo = (query: string) => originEcho(parseOriginQuery(q(query)), q(query));
    expect(echo('pid=7')).toEqual({ pid: 7 });
    expect(echo('cgroup_inode=in-42')).toEqual({ cgroup_inode: 42 });
    expect(echo(`container_id=docker://${'a'.repeat(64)}`)).toEqual({});
    expect(echo('external_data=it-false,cn-web,pu-u1')).toEqual({ external_data: 'it-false,cn-web,pu-u1' });
    expect(echo('pod_uid=u1&container_name=web')).toEqual({ pod_uid: 'u1', container_name: 'web' });
    expect(echo('ip=%3A%3Affff%3A10.0.0.1')).toEqual({ ip: '10.0.0.1' });
    expect(originQuery({ podUid: 'u1', containerName: 'web' }).toString()).toBe('pod_uid=u1&container_name=web');
    expect(originQuery({ cgroupInode: 42 }).toString()).toBe('cgroup_inode=42');
    expect(parseOriginQuery(originQuery({ externalData: 'it-true,cn-init,pu-u1' }))).toEqual({ kind: 'pod_container', podUid: 'u1', containerName: 'init', init: true });
  });
  it('an invalid origin is 400 naming its parameter', () => {
    let caught: unknown;
    try {
      parseOriginQuery(q('pid=1&ip=10.0.0.1'));
    } catch (error) {
      caught = error;
    }
    expect(errorResponse(caught)).toEqual({ status: 400, body: { error: 'invalid ip: only one origin may be given, but pid and ip were', parameter: 'ip' } });
  });
  it('errors map to 400 for bad input and a bare 500 otherwise', () => {
    let caught: unknown;
    try {
      parseEntityParam(q('entity=x'));
    } catch (e) {
      caught = e;
    }
    expect(isTaggerError(caught)).toBe(true);
    expect(errorResponse(caught).status).toBe(400);
    expect(errorResponse(new Error('secret detail'))).toEqual({ status: 500, body: { error: 'internal error' } });
  });
});

describe('stream encoding', () => {
  const added: EntityEvent = { type: 'added', entity: { id: ID, tags: { low: ['image_name:nginx'], orchestrator: [], high: ['container_name:web'], standard: [] } } };
  it('encodes events as one JSON line each, deletes with only the ID', () => {
    expect(encodeEvent(added)).toBe(
      `{"type":"added","entity":{"id":"${ID}","tags":{"low":["image_name:nginx"],"orchestrator":[],"high":["container_name:web"],"standard":[]}}}\n`,
    );
    expect(encodeEvent({ type: 'deleted', entity: { id: ID } })).toBe(`{"type":"deleted","entity":{"id":"${ID}"}}\n`);
  });
  it('writes exactly what JSON.stringify writes, for any strings (quotes, controls, lone surrogates)', () => {
    const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('"', '\\', '\n', '\u0000', '\u001f', '\ud800', '\udc00', 'a', ':', '\u2028', '\u007f') }));
    const lists = fc.array(text, { maxLength: 4 });
    fc.assert(
      fc.property(text, lists, lists, lists, lists, fc.constantFrom('added', 'modified') as fc.Arbitrary<'added' | 'modified'>, (id, low, orchestrator, high, standard, type) => {
        const line = encodeEvent({ type, entity: { id, tags: { low, orchestrator, high, standard } } });
        expect(line).toBe(`${JSON.stringify({ type, entity: { id, tags: { low, orchestrator, high, standard } } })}\n`);
        expect(encodeEvent({ type: 'deleted', entity: { id } })).toBe(`${JSON.stringify({ type: 'deleted', entity: { id } })}\n`);
      }),
      { numRuns: 500 },
    );
  });
  it('splits its own added/modified lines into ID and encoded tags, and leaves any other line alone', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: fc.constantFrom('"', '\\', '}', 'a', ':', '\n') }));
    const lists = fc.array(text, { maxLength: 3 });
    fc.assert(
      fc.property(text, lists, lists, lists, lists, fc.constantFrom('added', 'modified') as fc.Arbitrary<'added' | 'modified'>, (id, low, orchestrator, high, standard, type) => {
        const line = encodeEvent({ type, entity: { id, tags: { low, orchestrator, high, standard } } }).slice(0, -1);
        const split = splitEntityLine(line);
        // Only an ID that JSON escapes (or an empty one) is left to the full decoder.
        if (split === undefined) expect(JSON.stringify(id) !== `"${id}"` || id === '').toBe(true);
        else {
          expect(split).toMatchObject({ type, id });
          expect(decodeEncodedTags(split.encodedTags)).toEqual({ low, orchestrator, high, standard });
        }
      }),
      { numRuns: 500 },
    );
    expect(splitEntityLine('{"type":"deleted","entity":{"id":"x"}}')).toBeUndefined();
    expect(splitEntityLine('{"entity":{"id":"x","tags":{}},"type":"added"}')).toBeUndefined();
    expect(splitEntityLine('{"type":"added","entity":{"id":"x","tags":{}}} ')).toBeUndefined();
    expect(splitEntityLine('{"type":"added","entity":{"id":"x\\"y","tags":{}}}')).toBeUndefined();
    expect(() => decodeEncodedTags('{"low":[1]}')).toThrow(/lists of strings/);
    expect(() => decodeEncodedTags('[]')).toThrow(/object of lists/);
    expect(() => decodeEncodedTags('{"low":[')).toThrow();
  });
  it('decodes what it encodes, and the control lines', () => {
    expect(decodeStreamLine(encodeEvent(added).trim())).toEqual(added);
    expect(decodeStreamLine('{"type":"synced"}')).toEqual({ type: 'synced' });
    expect(decodeStreamLine('{"type":"heartbeat"}')).toEqual({ type: 'heartbeat' });
    expect(() => decodeStreamLine('{"type":"exploded"}')).toThrow(/unknown stream message/);
    expect(() => decodeStreamLine('{"type":"added","entity":{"id":"x","tags":{"low":[1]}}}')).toThrow(/lists of strings/);
    expect(() => decodeStreamLine('{"type":"deleted"}')).toThrow(/entity.id/);
  });
});

describe('entitiesBody', () => {
  it('sorts by ID and drops standard from the merged tags', () => {
    const body = entitiesBody([
      { id: 'ecs_task://b', sources: { ecs: { low: ['a:1'], orchestrator: [], high: [], standard: [] } }, tags: { low: ['a:1'], orchestrator: [], high: [], standard: ['env:x'] } },
      { id: 'ecs_task://a', sources: {}, tags: { low: [], orchestrator: [], high: [], standard: [] } },
    ]);
    expect(body.entities.map((e) => e.id)).toEqual(['ecs_task://a', 'ecs_task://b']);
    expect(body.entities[1]?.tags).toEqual({ low: ['a:1'], orchestrator: [], high: [] });
    expect(body.entities[1]?.sources.ecs?.low).toEqual(['a:1']);
  });
});
