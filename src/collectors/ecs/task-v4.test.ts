import { describe, expect, it } from 'vitest';
import { agentHasTaskMetadataV4, metadataUriFromEnv } from './task-v4.js';

describe('metadataUriFromEnv', () => {
  it('accepts plain HTTP to link-local, loopback or a trusted host, nothing else', () => {
    const uri = (value: string, trusted: string[] = []): string | undefined => metadataUriFromEnv([`ECS_CONTAINER_METADATA_URI_V4=${value}`], trusted);
    expect(uri('http://169.254.170.2/v4/abc-123')).toBe('http://169.254.170.2/v4/abc-123');
    expect(uri('http://127.0.0.1:4000/v4/x/')).toBe('http://127.0.0.1:4000/v4/x');
    expect(uri('http://[fe80::1]/v4/x')).toBe('http://[fe80::1]/v4/x');
    expect(uri('http://ecs-agent.internal/v4/x', ['ecs-agent.internal'])).toBe('http://ecs-agent.internal/v4/x');
    for (const bad of ['http://10.0.0.1/v4/x', 'https://169.254.170.2/v4/x', 'file:///etc/passwd', '/var/run/docker.sock', 'http://u:p@169.254.170.2/v4', 'http://169.254.170.2/v4?x=1', 'not a url', 'http://169.254.170.2.evil.example/v4']) expect(uri(bad), bad).toBeUndefined();
    expect(metadataUriFromEnv(['ECS_CONTAINER_METADATA_URI=http://169.254.170.2/v3/x'], [])).toBeUndefined();
  });
});

describe('agentHasTaskMetadataV4', () => {
  it('from 1.39.0 on; an unparsable version counts as v4 when the tagger itself has v4', () => {
    const meta = (Version: unknown): unknown => ({ Cluster: 'c', Version });
    expect(agentHasTaskMetadataV4(meta('Amazon ECS Agent - v1.30.0 (02ff320c)'), false)).toBe(false);
    expect(agentHasTaskMetadataV4(meta('Amazon ECS Agent - v1.39.0 (abc)'), false)).toBe(true);
    expect(agentHasTaskMetadataV4(meta('Amazon ECS Agent - v1.100.2'), false)).toBe(true);
    expect(agentHasTaskMetadataV4(meta('Amazon ECS Agent - v2.0.0'), false)).toBe(true);
    expect(agentHasTaskMetadataV4(meta('Amazon ECS Agent - v0.99.0'), true)).toBe(false);
    expect(agentHasTaskMetadataV4(meta(''), true)).toBe(true);
    expect(agentHasTaskMetadataV4(meta(''), false)).toBe(false);
    expect(agentHasTaskMetadataV4('garbage', false)).toBe(false);
  });
});
