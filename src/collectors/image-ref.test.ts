import { describe, expect, it } from 'vitest';
import { TagList } from '../taglist.js';
import { addImageTags, DOCKER_IMAGE_RULES, isImageId, parseImageRef, WORKLOADMETA_IMAGE_RULES } from './image-ref.js';

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
  const digest = 'sha256:' + 'cd'.repeat(32);
  const tagsOf = (ref: string | undefined, rules: Parameters<typeof addImageTags>[2], imageId?: string): string[] => {
    const list = new TagList();
    addImageTags(list, ref, rules, imageId);
    return list.compute().low;
  };

  it('Docker: an untagged reference gets no image_tag (extractImage splits Config.Image as is)', () => {
    expect(tagsOf('qmcgaw/gluetun', DOCKER_IMAGE_RULES)).toEqual(['docker_image:qmcgaw/gluetun', 'image_name:qmcgaw/gluetun', 'short_image:gluetun']);
  });

  it('Docker: docker_image is name[:tag], the digest dropped', () => {
    expect(tagsOf(`localhost:5000/app:1.2@${digest}`, DOCKER_IMAGE_RULES)).toContain('docker_image:localhost:5000/app:1.2');
    expect(tagsOf(`localhost:5000/app@${digest}`, DOCKER_IMAGE_RULES)).toEqual(['docker_image:localhost:5000/app', 'image_name:localhost:5000/app', 'short_image:app']);
  });

  it('other runtimes: no docker_image; an untagged or digest-only reference is latest (NewContainerImage)', () => {
    expect(tagsOf('redis', WORKLOADMETA_IMAGE_RULES)).toEqual(['image_name:redis', 'image_tag:latest', 'short_image:redis']);
    expect(tagsOf(`localhost:5000/app@${digest}`, WORKLOADMETA_IMAGE_RULES)).toEqual(['image_name:localhost:5000/app', 'image_tag:latest', 'short_image:app']);
  });

  it('adds image_id when given, even when the reference is an ID', () => {
    expect(tagsOf('sha256:' + 'ef'.repeat(32), DOCKER_IMAGE_RULES, digest)).toEqual([`image_id:${digest}`]);
    expect(tagsOf('redis:7', WORKLOADMETA_IMAGE_RULES, digest)).toContain(`image_id:${digest}`);
  });

  it('adds nothing for an image ID or no image', () => {
    const list = new TagList();
    expect(addImageTags(list, 'sha256:' + 'ef'.repeat(32), DOCKER_IMAGE_RULES)).toBe(false);
    expect(addImageTags(list, undefined, WORKLOADMETA_IMAGE_RULES)).toBe(false);
    expect(list.compute()).toEqual({ low: [], orchestrator: [], high: [], standard: [] });
  });
});
