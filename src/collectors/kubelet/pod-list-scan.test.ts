import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanPodList } from './pod-list-scan.js';

const fixture = readFileSync(new URL('./testdata/pods_k8s-1.35_containerd.json', import.meta.url));
const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');
const parsedItems = (cut: Uint8Array[]): unknown[] => cut.map((b) => JSON.parse(Buffer.from(b).toString('utf8')) as unknown);

describe('scanPodList', () => {
  it('cuts a real kubelet body into the same items JSON.parse sees', () => {
    const cut = scanPodList(fixture);
    expect(cut).toBeDefined();
    const expected = (JSON.parse(fixture.toString('utf8')) as { items: unknown[] }).items;
    expect(cut?.length).toBe(24);
    expect(parsedItems(cut ?? [])).toEqual(expected);
  });

  it('handles pretty-printed bodies, escapes and brackets inside strings, null and empty items', () => {
    const tricky = { kind: 'PodList', metadata: { resourceVersion: '' }, items: [{ a: 'x}"]{[\\"', b: [1, { c: null }] }, { d: '\u00e9\u4e2d\ud83d\ude00' }] };
    for (const text of [JSON.stringify(tricky), JSON.stringify(tricky, null, 2), '  {"items":null}  ', '{"items":[]}', '{}']) {
      const cut = scanPodList(bytes(text));
      const parsed = JSON.parse(text) as { items?: unknown[] | null };
      if (parsed.items === undefined) expect(cut).toBeUndefined();
      else expect(parsedItems(cut ?? [])).toEqual(parsed.items ?? []);
    }
  });

  it('gives up (undefined: the caller parses the whole body) on what it cannot cut safely', () => {
    for (const text of ['', 'garbage', '[]', '{"items":[1,2]}', '{"items":[{}] , "items":[]}', '{"items":[{}]} trailing', '{"items":[{"a":1}', '{"kind":nope,"items":[]}', '{"kind":"x" "items":[]}', '{"items":{}}', '{"items":[{}],}']) {
      expect(scanPodList(bytes(text)), text).toBeUndefined();
    }
  });

  // The collector's soundness rests on this: whenever the scan accepts a body and every item it
  // returns parses, the whole body parses too, to the same items.
  it('property: accepted bodies whose items parse are valid JSON with exactly those items', () => {
    const item = fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 5 });
    const body = fc.record({ kind: fc.constant('PodList'), metadata: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 2 }), items: fc.array(item, { maxLength: 6 }) });
    fc.assert(
      fc.property(body, fc.boolean(), (list, pretty) => {
        const text = pretty ? JSON.stringify(list, null, 1) : JSON.stringify(list);
        const cut = scanPodList(bytes(text));
        expect(cut).toBeDefined();
        expect(parsedItems(cut ?? [])).toEqual((JSON.parse(text) as { items: unknown[] }).items);
      }),
      { numRuns: 300 },
    );
    // Corrupt one byte of a valid body: either the scan refuses, or an item fails to parse, or
    // the body is still valid JSON with the same items.
    fc.assert(
      fc.property(body, fc.nat(), fc.integer({ min: 0, max: 127 }), (list, at, byte) => {
        const buf = bytes(JSON.stringify(list));
        buf[at % buf.length] = byte;
        const cut = scanPodList(buf);
        if (cut === undefined) return;
        let items: unknown[];
        try {
          items = parsedItems(cut);
        } catch {
          return;
        }
        const whole = JSON.parse(buf.toString('utf8')) as { items: unknown[] };
        expect(items).toEqual(whole.items ?? []);
      }),
      { numRuns: 2000 },
    );
  });
});
