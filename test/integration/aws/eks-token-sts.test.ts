import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEksToken } from '../../../src/aws/eks-token.js';
import { verifyEksToken, verifyStsSignature } from '../../bed/eks-token-verifier.js';
import { type MotoServer, startMoto } from '../../bed/moto.js';

let moto: MotoServer;
const credentials = { accessKeyId: 'AKIATESTBEDTESTBED00', secretAccessKey: 'testbed-secret-key' };

beforeAll(async () => {
  moto = await startMoto();
});

afterAll(async () => {
  await moto?.stop();
});

/** What aws-iam-authenticator does with a verified token: GET the presigned query from STS (here moto). */
async function replay(url: URL, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${moto.endpoint}/${url.search}`, {
    headers: { 'x-k8s-aws-id': 'prod', ...headers },
    signal: AbortSignal.timeout(5_000),
  });
}

describe('an EKS token replayed against moto STS', () => {
  it('passes the authenticator rules, the signature check and GetCallerIdentity', async () => {
    // Prepare
    const { token } = await createEksToken({ clusterName: 'prod', region: 'us-east-1', credentials });

    // Act
    const verdict = verifyEksToken(token, 'prod');
    if (!verdict.ok) throw new Error(verdict.reason);
    const signature = await verifyStsSignature(verdict.url, 'prod', credentials.secretAccessKey);
    const response = await replay(verdict.url);

    // Assess
    expect(signature).toEqual({ ok: true });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(
      /<GetCallerIdentityResult>.*<Arn>arn:aws:sts::123456789012:.*<\/Arn>/s,
    );
  });

  it('answers in JSON when asked, as STS does for aws-iam-authenticator', async () => {
    // Prepare
    const { token } = await createEksToken({ clusterName: 'prod', region: 'us-east-1', credentials });
    const verdict = verifyEksToken(token, 'prod');
    if (!verdict.ok) throw new Error(verdict.reason);

    // Act
    const response = await replay(verdict.url, { accept: 'application/json' });

    // Assess
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toMatchObject({
      GetCallerIdentityResponse: {
        GetCallerIdentityResult: { Account: '123456789012', Arn: expect.stringMatching(/^arn:aws:/) },
      },
    });
  });
});
