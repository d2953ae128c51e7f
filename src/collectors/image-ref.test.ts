import { describe, expect, it } from 'vitest';
import { TagList } from '../taglist.js';
import { addImageTags, isImageId, parseImageRef } from './image-ref.js';

describe('parseImageRef', () => {
  const cases: Array<[string, { name: string; shortName: string; registry?: string; tag?: string; digest?: string }]> = [
    ['ubuntu', { name: 'ubuntu', shortName: 'ubuntu' }],
    ['ubuntu:22.04', { name: 'ubuntu', shortName: 'ubuntu', tag: '22.04' }],
    ['qmcgaw/gluetun', { name: 'qmcgaw/gluetun', shortName: 'gluetun' }],
    ['local/busybox:latest', { name: 'local/busybox', shortName: 'busybox', tag: 'latest' }],
    ['localhost/busybox:latest', { name: 'localhost/busybox', shortName: 'busybox', registry: 'localhost', tag: 'latest' }],
    ['gcr.io/datadoghq/agent:7.50.0', { name: 'gcr.io/datadoghq/agent', shortName: 'agent', registry: 'gcr.io', tag: '7.50.0' }],
    ['localhost:5000/team/app', { name: 'localhost:5000/team/app', shortName: 'app', registry: 'localhost:5000' }],
    ['localhost:5000/team/app:1.2', { name: 'localhost:5000/team/app', shortName: 'app', registry: 'localhost:5000', tag: '1.2' }],
    [
      'registry.example.com:443/a/b/c:v1@sha256:' + 'ab'.repeat(32),
      { name: 'registry.example.com:443/a/b/c', shortName: 'c', registry: 'registry.example.com:443', tag: 'v1', digest: 'sha256:' + 'ab'.repeat(32) },
    ],
    ['alpine@sha256:' + '01'.repeat(32), { name: 'alpine', shortName: 'alpine', digest: 'sha256:' + '01'.repeat(32) }],
    ['docker.io/library/redis:7-alpine', { name: 'docker.io/library/redis', shortName: 'redis', registry: 'docker.io', tag: '7-alpine' }],
  ];
  for (const [ref, want] of cases) {
    it(ref, () => {
      const got = parseImageRef(ref);
      expect(got).toEqual({ raw: ref, ...want });
    });
  }

  it('refuses empty strings and image IDs', () => {
    expect(parseImageRef('')).toBeUndefined();
    expect(parseImageRef('  ')).toBeUndefined();
    expect(parseImageRef('sha256:520c26fa9c8ce87ba3d1c75535c69aa73864ce7bd9f76b228bc08f60e24f028c')).toBeUndefined();
    expect(parseImageRef('04c5d3b7b0656168630d3ba35d8889bd0e9caafcaeb3004d2bfbc47e7c5d35d2')).toBeUndefined();
    expect(parseImageRef(':tag')).toBeUndefined();
    expect(parseImageRef('repo/')).toBeUndefined();
  });

  it('tells IDs from names', () => {
    expect(isImageId('sha256:520c26fa9c8ce87ba3d1c75535c69aa73864ce7bd9f76b228bc08f60e24f028c')).toBe(true);
    expect(isImageId('ubuntu')).toBe(false);
    expect(isImageId('sha256:abc')).toBe(false);
  });
});

describe('addImageTags', () => {
  it('defaults an untagged image to latest', () => {
    const list = new TagList();
    expect(addImageTags(list, 'qmcgaw/gluetun')).toBe(true);
    expect(list.compute().low).toEqual(['docker_image:qmcgaw/gluetun', 'image_name:qmcgaw/gluetun', 'image_tag:latest', 'short_image:gluetun']);
  });

  it('keeps the registry port in image_name and gives a digest-only image no tag', () => {
    const list = new TagList();
    const digest = 'sha256:' + 'cd'.repeat(32);
    addImageTags(list, `localhost:5000/app@${digest}`);
    expect(list.compute().low).toEqual([`docker_image:localhost:5000/app@${digest}`, 'image_name:localhost:5000/app', 'short_image:app']);
  });

  it('adds nothing for an image ID or no image', () => {
    const list = new TagList();
    expect(addImageTags(list, 'sha256:' + 'ef'.repeat(32))).toBe(false);
    expect(addImageTags(list, undefined)).toBe(false);
    expect(list.compute()).toEqual({ low: [], orchestrator: [], high: [], standard: [] });
  });
});
