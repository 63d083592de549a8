import { describe, expect, it } from 'vitest';
import { createEksToken } from '../../../src/aws/eks-token.js';
import { verifyEksToken, verifyStsSignature } from '../../bed/eks-token-verifier.js';

const now = new Date('2026-01-02T03:04:05Z');
const credentials = {
  accessKeyId: 'ASIAEXAMPLE',
  secretAccessKey: 'secret/key+1',
  sessionToken: 'tok+/en==',
};

async function mint(region = 'us-east-1', clusterName = 'prod'): Promise<string> {
  return (await createEksToken({ clusterName, region, credentials, now })).token;
}

const urlOf = (token: string) => Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8');
const tokenOf = (url: string) => `k8s-aws-v1.${Buffer.from(url, 'utf8').toString('base64url')}`;
/** Our token with its URL edited, re-encoded properly: only the edited rule can fail. */
const tampered = async (edit: (url: string) => string) => tokenOf(edit(urlOf(await mint())));

describe('verifyEksToken', () => {
  it.each(['us-east-1', 'eu-west-3', 'ap-southeast-2'])('accepts our token for %s', async (region) => {
    // Act
    const verdict = verifyEksToken(await mint(region), 'prod', now);

    // Assess
    expect(verdict).toMatchObject({ ok: true });
    if (verdict.ok) expect(verdict.url.hostname).toBe(`sts.${region}.amazonaws.com`);
  });

  it('accepts a China-region token in the aws-cn partition only', async () => {
    // Prepare
    const token = await mint('cn-north-1');

    // Act & Assess
    expect(verifyEksToken(token, 'prod', now, 'aws-cn')).toMatchObject({ ok: true });
    expect(verifyEksToken(token, 'prod', now, 'aws')).toMatchObject({
      ok: false,
      reason: /unexpected hostname/,
    });
  });

  it('accepts the token until 15 minutes after it was signed', async () => {
    // Prepare
    const token = await mint();

    // Act & Assess
    expect(verifyEksToken(token, 'prod', new Date(now.getTime() + 15 * 60_000))).toMatchObject({ ok: true });
    expect(verifyEksToken(token, 'prod', new Date(now.getTime() + 15 * 60_000 + 1_000))).toMatchObject({
      ok: false,
      reason: /X-Amz-Date parameter is expired/,
    });
  });

  it.each<[string, () => Promise<string>, RegExp]>([
    ['too large', async () => `${await mint()}${'A'.repeat(4096)}`, /token is too large/],
    [
      'without the prefix',
      async () => (await mint()).replace('k8s-aws-v1.', 'k8s-aws-v2.'),
      /missing expected "k8s-aws-v1." prefix/,
    ],
    ['with base64 padding', async () => `${await mint()}==`, /illegal base64/],
    [
      'in standard base64',
      async () => `k8s-aws-v1.${Buffer.from(urlOf(await mint())).toString('base64')}+/`,
      /illegal base64/,
    ],
    ['not a URL', async () => tokenOf('not a url'), /Invalid URL/],
    ['over http', () => tampered((u) => u.replace('https://', 'http://')), /unexpected scheme "http"/],
    [
      'for another host',
      () => tampered((u) => u.replace('sts.us-east-1.amazonaws.com', 'sts.us-east-1.evil.com')),
      /unexpected hostname/,
    ],
    [
      'for a look-alike host',
      () => tampered((u) => u.replace('sts.us-east-1.amazonaws.com', 'evil.us-east-1.amazonaws.com')),
      /unexpected hostname/,
    ],
    [
      'with a port',
      () => tampered((u) => u.replace('amazonaws.com/', 'amazonaws.com:443/')),
      /unexpected hostname/,
    ],
    [
      'with a malformed region',
      () => tampered((u) => u.replace('us-east-1.', 'us_east_1.')),
      /invalid region identifier/,
    ],
    ['with another path', () => tampered((u) => u.replace('.com/?', '.com/x?')), /unexpected path/],
    ['with a bad escape', () => tampered((u) => `${u}&X-Amz-Expires=%gh`), /malformed query parameter/],
    [
      'with a semicolon',
      () => tampered((u) => u.replace('&Version', ';Version')),
      /malformed query parameter/,
    ],
    [
      'with a duplicate in another case',
      () => tampered((u) => `${u}&action=GetCallerIdentity`),
      /duplicate query parameter/,
    ],
    [
      'with a parameter off the whitelist',
      () => tampered((u) => `${u}&Foo=bar`),
      /non-whitelisted query parameter "Foo"/,
    ],
    [
      'with a parameter given twice',
      () => tampered((u) => `${u}&Version=2011-06-15`),
      /multiple values not supported/,
    ],
    [
      'for another action',
      () => tampered((u) => u.replace('Action=GetCallerIdentity', 'Action=AssumeRole')),
      /unexpected action/,
    ],
    [
      'without the cluster header signed',
      () => tampered((u) => u.replace('host%3Bx-k8s-aws-id', 'host')),
      /did not sign the x-k8s-aws-id header/,
    ],
    [
      'with X-Amz-Expires over 900',
      () => tampered((u) => u.replace('X-Amz-Expires=60', 'X-Amz-Expires=901')),
      /invalid X-Amz-Expires parameter in pre-signed URL: 901/,
    ],
    [
      'with a negative X-Amz-Expires',
      () => tampered((u) => u.replace('X-Amz-Expires=60', 'X-Amz-Expires=-1')),
      /invalid X-Amz-Expires/,
    ],
    [
      'with a non-numeric X-Amz-Expires',
      () => tampered((u) => u.replace('X-Amz-Expires=60', 'X-Amz-Expires=abc')),
      /invalid X-Amz-Expires/,
    ],
    [
      'without X-Amz-Date',
      () => tampered((u) => u.replace(/&X-Amz-Date=[^&]*/, '')),
      /X-Amz-Date parameter must be present/,
    ],
    [
      'with a malformed X-Amz-Date',
      () => tampered((u) => u.replace(/X-Amz-Date=[^&]*/, 'X-Amz-Date=20261302T030405Z')),
      /error parsing X-Amz-Date/,
    ],
    [
      'signed long ago',
      () => tampered((u) => u.replace(/X-Amz-Date=[^&]*/, 'X-Amz-Date=19900422T010203Z')),
      /X-Amz-Date parameter is expired/,
    ],
    [
      'dated in the future',
      () => tampered((u) => u.replace(/X-Amz-Date=[^&]*/, 'X-Amz-Date=20260102T031100Z')),
      /X-Amz-Date parameter is in the future/,
    ],
  ])('rejects a token %s', async (_label, makeToken, reason) => {
    // Prepare
    const token = await makeToken();

    // Act
    const verdict = verifyEksToken(token, 'prod', now);

    // Assess
    expect(verdict).toMatchObject({ ok: false, reason });
  });

  it('rejects the global endpoint outside the aws partition', async () => {
    // Prepare
    const token = await tampered((u) => u.replace('sts.us-east-1.amazonaws.com', 'sts.amazonaws.com'));

    // Act & Assess
    expect(verifyEksToken(token, 'prod', now, 'aws')).toMatchObject({ ok: true });
    expect(verifyEksToken(token, 'prod', now, 'aws-cn')).toMatchObject({
      ok: false,
      reason: /global endpoint unsupported/,
    });
  });
});

describe('verifyStsSignature', () => {
  async function verifiedUrl(token: string): Promise<URL> {
    const verdict = verifyEksToken(token, 'prod', now);
    if (!verdict.ok) throw new Error(verdict.reason);
    return verdict.url;
  }

  it('accepts our token for the cluster it was minted for', async () => {
    // Act
    const result = await verifyStsSignature(
      await verifiedUrl(await mint()),
      'prod',
      credentials.secretAccessKey,
    );

    // Assess
    expect(result).toEqual({ ok: true });
  });

  it('rejects a token minted for another cluster', async () => {
    // Act
    const result = await verifyStsSignature(
      await verifiedUrl(await mint('us-east-1', 'staging')),
      'prod',
      credentials.secretAccessKey,
    );

    // Assess
    expect(result).toMatchObject({ ok: false, reason: /SignatureDoesNotMatch/ });
  });

  it('rejects a token signed with another secret', async () => {
    // Act
    const result = await verifyStsSignature(await verifiedUrl(await mint()), 'prod', 'another-secret');

    // Assess
    expect(result).toMatchObject({ ok: false, reason: /SignatureDoesNotMatch/ });
  });

  it('rejects a token edited after signing', async () => {
    // Prepare: a later date stays within the rules but breaks the signature.
    const token = await tampered((u) => u.replace(/X-Amz-Date=[^&]*/, 'X-Amz-Date=20260102T030406Z'));

    // Act
    const result = await verifyStsSignature(await verifiedUrl(token), 'prod', credentials.secretAccessKey);

    // Assess
    expect(result).toMatchObject({ ok: false, reason: /SignatureDoesNotMatch/ });
  });
});
