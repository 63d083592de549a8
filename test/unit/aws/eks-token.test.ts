import { inspect } from 'node:util';
import type { AwsCredentialIdentity } from '@smithy/types';
import { describe, expect, it, vi } from 'vitest';
import {
  createEksToken,
  EksTokenProvider,
  stsHostname,
  tokenLifetimeMs,
} from '../../../src/aws/eks-token.js';
import { type BotocoreTokenSpec, botocoreEksToken } from '../../support/botocore-token.js';

const time = '2026-01-02T03:04:05Z';
const longTerm = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
// A session token with the characters that need percent-encoding (+ / =).
const session = { ...longTerm, accessKeyId: 'ASIAEXAMPLE', sessionToken: 'IQoJb3JpZ2luX2VjE+/Ab//cd+efg==' };

function decode(token: string): string {
  return Buffer.from(token.replace(/^k8s-aws-v1\./, ''), 'base64url').toString('utf8');
}

describe('createEksToken', () => {
  it.each<[string, Omit<BotocoreTokenSpec, 'time'>]>([
    ['long-term credentials', { clusterName: 'prod', region: 'us-east-1', ...longTerm }],
    ['session credentials', { clusterName: 'prod-eu_1', region: 'eu-west-1', ...session }],
    ['a China region', { clusterName: 'prod', region: 'cn-north-1', ...session }],
  ])('is byte-identical to botocore (aws eks get-token) with %s', async (_label, spec) => {
    // Prepare
    const reference = await botocoreEksToken({ ...spec, time });
    const { clusterName, region, ...credentials } = spec;

    // Act
    const ours = await createEksToken({ clusterName, region, credentials, now: new Date(time) });

    // Assess
    expect(decode(ours.token)).toBe(reference.url);
    expect(ours.token).toBe(reference.token);
  });

  it('presigns GetCallerIdentity on the regional STS endpoint for 60 seconds, signing x-k8s-aws-id', async () => {
    // Act
    const { token } = await createEksToken({
      clusterName: 'prod',
      region: 'ap-south-1',
      credentials: longTerm,
    });

    // Assess
    expect(token).toMatch(/^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    const url = new URL(decode(token));
    expect(url.origin).toBe('https://sts.ap-south-1.amazonaws.com');
    expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
    expect(url.searchParams.get('Version')).toBe('2011-06-15');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
  });

  it('expires 14 minutes after it is minted, like get-token', async () => {
    // Prepare
    const now = new Date(time);

    // Act
    const { expiresAt } = await createEksToken({
      clusterName: 'prod',
      region: 'us-east-1',
      credentials: longTerm,
      now,
    });

    // Assess
    expect(expiresAt.getTime() - now.getTime()).toBe(14 * 60_000);
  });

  it('reveals neither the token nor the credentials when logged', async () => {
    // Prepare
    const minted = await createEksToken({ clusterName: 'prod', region: 'us-east-1', credentials: session });

    // Act
    const printed = [JSON.stringify(minted), inspect(minted), String(minted), JSON.stringify({ minted })];

    // Assess
    for (const text of printed) {
      expect(text).not.toContain(minted.token.slice(11, 40));
      expect(text).not.toContain(session.accessKeyId);
    }
    expect(JSON.stringify(minted)).toContain('[redacted]');
  });
});

describe('stsHostname', () => {
  it.each([
    ['us-east-1', 'sts.us-east-1.amazonaws.com'],
    ['eu-central-2', 'sts.eu-central-2.amazonaws.com'],
    ['cn-northwest-1', 'sts.cn-northwest-1.amazonaws.com.cn'],
  ])('%s -> %s', (region, host) => {
    expect(stsHostname(region)).toBe(host);
  });
});

describe('EksTokenProvider', () => {
  function setup(options: { credentials?: AwsCredentialIdentity; renewBeforeMs?: number } = {}) {
    let now = new Date(time);
    const credentials = vi.fn(async () => options.credentials ?? longTerm);
    const provider = new EksTokenProvider({
      region: 'us-east-1',
      credentials,
      now: () => now,
      ...(options.renewBeforeMs === undefined ? {} : { renewBeforeMs: options.renewBeforeMs }),
    });
    const advance = (ms: number) => {
      now = new Date(now.getTime() + ms);
    };
    return { provider, credentials, advance };
  }

  it('reuses a token until one minute before it expires', async () => {
    // Prepare
    const { provider, credentials, advance } = setup();
    const first = await provider.getToken('prod');

    // Act
    advance(tokenLifetimeMs - 60_000 - 1);
    const reused = await provider.getToken('prod');
    advance(1);
    const renewed = await provider.getToken('prod');

    // Assess
    expect(reused.token).toBe(first.token);
    expect(renewed.token).not.toBe(first.token);
    expect(credentials).toHaveBeenCalledTimes(2);
  });

  it('keeps one token per cluster', async () => {
    // Prepare
    const { provider } = setup();

    // Act
    const [a, b, a2] = [
      await provider.getToken('a'),
      await provider.getToken('b'),
      await provider.getToken('a'),
    ];

    // Assess
    expect(a.token).not.toBe(b.token);
    expect(a2.token).toBe(a.token);
  });

  it('signs once for concurrent requests', async () => {
    // Prepare
    const { provider, credentials } = setup();

    // Act
    const tokens = await Promise.all([
      provider.getToken('prod'),
      provider.getToken('prod'),
      provider.getToken('prod'),
    ]);

    // Assess
    expect(new Set(tokens.map((t) => t.token)).size).toBe(1);
    expect(credentials).toHaveBeenCalledTimes(1);
  });

  it('renews early when the signing credentials expire before the token', async () => {
    // Prepare: session credentials with 5 minutes left.
    const expiration = new Date(new Date(time).getTime() + 5 * 60_000);
    const { provider, advance } = setup({ credentials: { ...session, expiration } });
    const first = await provider.getToken('prod');

    // Act
    advance(4 * 60_000);
    const second = await provider.getToken('prod');

    // Assess
    expect(first.expiresAt).toEqual(expiration);
    expect(second.token).not.toBe(first.token);
  });

  it('renews at least one minute early even if asked for less', async () => {
    // Prepare
    const { provider, advance } = setup({ renewBeforeMs: 1_000 });
    const first = await provider.getToken('prod');

    // Act
    advance(tokenLifetimeMs - 59_000);
    const second = await provider.getToken('prod');

    // Assess
    expect(second.token).not.toBe(first.token);
  });

  it('does not remember a failure to get credentials', async () => {
    // Prepare
    const credentials = vi
      .fn<() => Promise<AwsCredentialIdentity>>()
      .mockRejectedValueOnce(new Error('no credentials'))
      .mockResolvedValue(longTerm);
    const provider = new EksTokenProvider({ region: 'us-east-1', credentials });

    // Act
    const failed = provider.getToken('prod');

    // Assess
    await expect(failed).rejects.toThrow('no credentials');
    await expect(provider.getToken('prod')).resolves.toMatchObject({
      token: expect.stringMatching(/^k8s-aws-v1\./),
    });
  });

  it('shows no token when logged', async () => {
    // Prepare
    const { provider } = setup();
    const { token } = await provider.getToken('prod');

    // Act
    const printed = `${inspect(provider)} ${JSON.stringify(provider)}`;

    // Assess
    expect(printed).toContain('prod');
    expect(printed).not.toContain(token.slice(11, 40));
  });
});
