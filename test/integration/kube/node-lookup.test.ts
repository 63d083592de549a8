import { afterAll, describe, expect, inject, it } from 'vitest';
import { createKubeApis } from '../../../src/kube/connection.js';
import { findNodeForInstance } from '../../../src/kube/node-lookup.js';
import {
  adminClients,
  createSpotNode,
  kubeConfigFor,
  randomInstanceId,
  uniqueSuffix,
} from '../../bed/kube.js';

const bed = inject('testbed');

describe('findNodeForInstance as drainer', () => {
  const admin = adminClients(bed.cluster);
  const drainer = createKubeApis(kubeConfigFor(bed.cluster, 'drainer'));
  afterAll(() => drainer.close());

  it('finds a node named after the private DNS name with one GET', async () => {
    const node = await createSpotNode(admin.core, { extraLabels: { pool: `lookup-${uniqueSuffix()}` } });

    const found = await findNodeForInstance(drainer.core, {
      instanceId: node.instanceId,
      privateDnsName: node.name,
      availabilityZone: node.availabilityZone,
    });

    expect(found.node?.metadata?.name).toBe(node.name);
    expect(found.requests).toBe(1);
    expect(found.via).toBe(`name ${node.name}`);
  });

  it('finds a node named after the instance id (Karpenter and Bottlerocket resource names)', async () => {
    const instanceId = randomInstanceId();
    await createSpotNode(admin.core, {
      instanceId,
      name: instanceId,
      extraLabels: { pool: `lookup-${uniqueSuffix()}` },
    });

    const found = await findNodeForInstance(drainer.core, {
      instanceId,
      privateDnsName: `ip-10-9-9-9.ec2.internal`,
      availabilityZone: 'us-east-1a',
    });

    expect(found.node?.metadata?.name).toBe(instanceId);
    expect(found.requests).toBe(2);
  });

  it('finds a node still joining, without a providerID yet, by the private DNS name EC2 gave', async () => {
    // Prepare: the kubelet registered, the cloud provider has not set spec.providerID yet.
    const instanceId = randomInstanceId();
    const name = `ip-10-7-${Number.parseInt(uniqueSuffix().slice(0, 2), 16)}-9.ec2.internal`;
    await admin.core.createNode({
      body: {
        metadata: {
          name,
          labels: { type: 'kwok', pool: `lookup-${uniqueSuffix()}` },
          annotations: { 'kwok.x-k8s.io/node': 'fake' },
        },
      },
    });

    // Act
    const found = await findNodeForInstance(drainer.core, {
      instanceId,
      privateDnsName: name,
      availabilityZone: 'us-east-1a',
    });
    const elsewhere = await findNodeForInstance(drainer.core, {
      instanceId: randomInstanceId(),
      privateDnsName: `ip-10-6-6-6.ec2.internal`,
      availabilityZone: 'us-east-1a',
    });

    // Assess: found by the name EC2 gave; a node without providerID is never matched by id alone
    expect(found.node?.metadata?.name).toBe(name);
    expect(found.via).toBe(`name ${name} (no providerID yet)`);
    expect(elsewhere.node).toBeUndefined();
  });

  it('does not trust a name alone: a reused name with another providerID falls through to the labels', async () => {
    // The DNS name now belongs to a new instance's node; ours carries the hostname label only.
    const reused = await createSpotNode(admin.core, { extraLabels: { pool: `lookup-${uniqueSuffix()}` } });
    const ours = await createSpotNode(admin.core, {
      name: `custom-${uniqueSuffix()}`,
      hostname: reused.name,
      availabilityZone: 'us-east-1b',
      extraLabels: { pool: `lookup-${uniqueSuffix()}` },
    });

    const found = await findNodeForInstance(drainer.core, {
      instanceId: ours.instanceId,
      privateDnsName: reused.name,
      availabilityZone: 'us-east-1b',
    });

    expect(found.node?.metadata?.name).toBe(ours.name);
    expect(found.via).toBe(`list kubernetes.io/hostname=${reused.name}`);
  });

  it('finds a node with an unrelated name through the zone label, and says so', async () => {
    const node = await createSpotNode(admin.core, {
      name: `custom-${uniqueSuffix()}`,
      availabilityZone: 'us-east-1c',
      extraLabels: { pool: `lookup-${uniqueSuffix()}` },
    });

    const found = await findNodeForInstance(drainer.core, {
      instanceId: node.instanceId,
      privateDnsName: 'ip-10-1-1-1.ec2.internal',
      availabilityZone: 'us-east-1c',
    });

    expect(found.node?.metadata?.name).toBe(node.name);
    expect(found.via).toBe('list topology.kubernetes.io/zone=us-east-1c');
  });

  it('returns no node, without error, for an instance that has none', async () => {
    const found = await findNodeForInstance(drainer.core, {
      instanceId: randomInstanceId(),
      privateDnsName: 'ip-10-2-2-2.ec2.internal',
      availabilityZone: 'us-east-1a',
    });

    expect(found.node).toBeUndefined();
  });
});
