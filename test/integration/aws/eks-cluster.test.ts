import { type EKSClient, ResourceNotFoundException } from '@aws-sdk/client-eks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../../src/aws/clients.js';
import { ClusterEndpointCache, describeCluster } from '../../../src/aws/eks-cluster.js';
import {
  createEksCluster,
  type MotoServer,
  motoCredentials,
  setEksClusterEndpoint,
  startMoto,
} from '../../bed/moto.js';

let moto: MotoServer;
let eks: EKSClient;
const region = 'us-east-1';
const soon = () => ({ deadline: Date.now() + 10_000 });
const caData = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n').toString(
  'base64',
);

beforeAll(async () => {
  moto = await startMoto({ region });
  ({ eks } = createAwsClients({ region, endpoint: moto.endpoint, credentials: motoCredentials }));
});

afterAll(async () => {
  eks?.destroy();
  await moto?.stop();
});

describe('describeCluster against moto', () => {
  it('returns the endpoint and CA set through the control API', async () => {
    // Prepare
    await createEksCluster(moto.endpoint, {
      name: 'prod',
      controlEndpoint: moto.controlEndpoint,
      apiServer: { endpoint: 'https://127.0.0.1:6443', certificateAuthorityData: caData },
    });

    // Act
    const endpoint = await describeCluster(eks, 'prod', soon());

    // Assess
    expect(endpoint).toEqual({
      name: 'prod',
      endpoint: 'https://127.0.0.1:6443',
      certificateAuthorityData: caData,
    });
  });

  it('sees a later change of the endpoint (describeCluster itself does not cache)', async () => {
    // Prepare
    await createEksCluster(moto.endpoint, { name: 'moving' });
    await setEksClusterEndpoint(moto.controlEndpoint, {
      name: 'moving',
      endpoint: 'https://127.0.0.2:6443',
      certificateAuthorityData: caData,
    });

    // Act
    const endpoint = await describeCluster(eks, 'moving', soon());

    // Assess
    expect(endpoint.endpoint).toBe('https://127.0.0.2:6443');
  });

  it('throws ResourceNotFoundException for an unknown cluster', async () => {
    await expect(describeCluster(eks, 'nowhere', soon())).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('refuses to patch a cluster moto does not have', async () => {
    const patch = setEksClusterEndpoint(moto.controlEndpoint, {
      name: 'nowhere',
      endpoint: 'https://127.0.0.1:1',
      certificateAuthorityData: caData,
    });
    await expect(patch).rejects.toThrow(/HTTP 400.*nowhere/);
  });
});

describe('ClusterEndpointCache against moto', () => {
  it('asks EKS once for a cluster', async () => {
    // Prepare
    await createEksCluster(moto.endpoint, {
      name: 'cached',
      controlEndpoint: moto.controlEndpoint,
      apiServer: { endpoint: 'https://127.0.0.1:7443', certificateAuthorityData: caData },
    });
    const client = createAwsClients({ region, endpoint: moto.endpoint, credentials: motoCredentials }).eks;
    let calls = 0;
    client.middlewareStack.add(
      (next) => async (args) => {
        calls++;
        return next(args);
      },
      { step: 'finalizeRequest' },
    );
    const cache = new ClusterEndpointCache(client);

    // Act
    const endpoints = await Promise.all([cache.get('cached', soon()), cache.get('cached', soon())]);
    await cache.get('cached', soon());

    // Assess
    expect(endpoints[0]?.endpoint).toBe('https://127.0.0.1:7443');
    expect(calls).toBe(1);
    client.destroy();
  });
});
