import { DescribeClusterCommand, EKSClient, ResourceNotFoundException } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterEndpointCache, describeCluster } from '../../../src/aws/eks-cluster.js';
import { TransientError } from '../../../src/errors.js';
import { awsError } from './aws-error.js';

const eksMock = mockClient(EKSClient);
const eks = new EKSClient({ region: 'us-east-1' });
const soon = () => ({ deadline: Date.now() + 5_000 });
const active = {
  cluster: {
    name: 'prod',
    status: 'ACTIVE' as const,
    endpoint: 'https://ABCDEF.gr7.us-east-1.eks.amazonaws.com',
    certificateAuthority: { data: 'LS0tLS1CRUdJTi...' },
  },
};

afterEach(() => {
  eksMock.reset();
});

describe('describeCluster', () => {
  it('returns the endpoint and CA bundle', async () => {
    // Prepare
    eksMock.on(DescribeClusterCommand, { name: 'prod' }).resolves(active);

    // Act
    const endpoint = await describeCluster(eks, 'prod', soon());

    // Assess
    expect(endpoint).toEqual({
      name: 'prod',
      endpoint: 'https://ABCDEF.gr7.us-east-1.eks.amazonaws.com',
      certificateAuthorityData: 'LS0tLS1CRUdJTi...',
    });
  });

  it('treats a cluster without an endpoint yet as transient', async () => {
    // Prepare
    eksMock.on(DescribeClusterCommand).resolves({ cluster: { name: 'prod', status: 'CREATING' } });

    // Act & Assess
    await expect(describeCluster(eks, 'prod', soon())).rejects.toThrow(TransientError);
  });

  it('retries throttling', async () => {
    // Prepare
    eksMock.on(DescribeClusterCommand).rejectsOnce(awsError('ThrottlingException', 429)).resolves(active);

    // Act
    const endpoint = await describeCluster(eks, 'prod', soon());

    // Assess
    expect(endpoint.endpoint).toBe(active.cluster.endpoint);
    expect(eksMock.commandCalls(DescribeClusterCommand)).toHaveLength(2);
  });

  it('throws a TransientError when throttling lasts past the deadline', async () => {
    // Prepare
    eksMock.on(DescribeClusterCommand).rejects(awsError('ThrottlingException', 429));

    // Act & Assess
    await expect(describeCluster(eks, 'prod', { deadline: Date.now() + 250 })).rejects.toThrow(
      TransientError,
    );
  });

  it('throws an unknown cluster unchanged, without retrying', async () => {
    // Prepare
    const notFound = new ResourceNotFoundException({
      message: 'No cluster found for name: prod.',
      $metadata: {},
    });
    eksMock.on(DescribeClusterCommand).rejects(notFound);

    // Act & Assess
    await expect(describeCluster(eks, 'prod', soon())).rejects.toBeInstanceOf(ResourceNotFoundException);
    expect(eksMock.commandCalls(DescribeClusterCommand)).toHaveLength(1);
  });
});

describe('ClusterEndpointCache', () => {
  it('asks EKS once per cluster', async () => {
    // Prepare
    eksMock.on(DescribeClusterCommand).resolves(active);
    const cache = new ClusterEndpointCache(eks);

    // Act
    await Promise.all([cache.get('prod', soon()), cache.get('prod', soon())]);
    await cache.get('prod', soon());

    // Assess
    expect(eksMock.commandCalls(DescribeClusterCommand)).toHaveLength(1);
  });

  it('asks again after invalidate', async () => {
    // Prepare
    eksMock.on(DescribeClusterCommand).resolves(active);
    const cache = new ClusterEndpointCache(eks);
    await cache.get('prod', soon());

    // Act
    cache.invalidate('prod');
    await cache.get('prod', soon());

    // Assess
    expect(eksMock.commandCalls(DescribeClusterCommand)).toHaveLength(2);
  });

  it('does not remember a failure', async () => {
    // Prepare
    eksMock.on(DescribeClusterCommand).rejectsOnce(awsError('AccessDeniedException', 403)).resolves(active);
    const cache = new ClusterEndpointCache(eks);
    await expect(cache.get('prod', soon())).rejects.toThrow();

    // Act
    const endpoint = await cache.get('prod', soon());

    // Assess
    expect(endpoint.name).toBe('prod');
  });
});
