import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { belongsTo, findNodeForInstance } from '../../../src/kube/node-lookup.js';
import { apiError, eksNode, fakeNodeApi } from '../../support/fake-kube.js';

const instanceId = 'i-0123456789abcdef0';
const dnsName = 'ip-10-0-1-23.ec2.internal';
const zone = 'us-east-1a';

describe('belongsTo', () => {
  const node = (providerID: string | undefined): k8s.V1Node => ({
    metadata: { name: 'n' },
    spec: { providerID },
  });

  it.each([
    ['aws:///<az>/<id>', `aws:///us-east-1a/${instanceId}`, true],
    ['the older aws://<az>/<id>', `aws://us-east-1a/${instanceId}`, true],
    ['another instance', 'aws:///us-east-1a/i-0fedcba9876543210', false],
    ['an id that only starts with ours', `aws:///us-east-1a/${instanceId}1`, false],
    ['a trailing slash', `aws:///us-east-1a/${instanceId}/`, false],
    ['another cloud', `gce://project/us-east1-b/${instanceId}`, false],
    ['the id without a scheme', `us-east-1a/${instanceId}`, false],
    ['no providerID', undefined, false],
  ])('%s → %s', (_, providerID, expected) => {
    // Act + Assess
    expect(belongsTo(node(providerID), instanceId)).toBe(expected);
  });
});

describe('findNodeForInstance', () => {
  it('finds the node by its private DNS name in one GET', async () => {
    // Prepare
    const fake = fakeNodeApi([
      eksNode(dnsName, instanceId),
      eksNode('ip-10-0-9-9.ec2.internal', 'i-0aaaaaaaaaaaaaaa0'),
    ]);

    // Act
    const found = await findNodeForInstance(fake.core, {
      instanceId,
      privateDnsName: dnsName,
      availabilityZone: zone,
    });

    // Assess
    expect(found.node?.metadata?.name).toBe(dnsName);
    expect(found.via).toBe(`name ${dnsName}`);
    expect(found.requests).toBe(1);
    expect(fake.calls.map((c) => c.method)).toEqual(['readNode']);
  });

  it('finds a node named after the instance id', async () => {
    // Prepare
    const fake = fakeNodeApi([eksNode(instanceId, instanceId)]);

    // Act
    const found = await findNodeForInstance(fake.core, {
      instanceId,
      privateDnsName: dnsName,
      availabilityZone: zone,
    });

    // Assess
    expect(found.node?.metadata?.name).toBe(instanceId);
    expect(found.via).toBe(`name ${instanceId}`);
    expect(found.requests).toBe(2);
  });

  it('does not trust a name whose providerID names another instance, and goes on to the lists', async () => {
    // Prepare: the DNS name was reused by a newer instance; ours registered under another name.
    const decoy = eksNode(dnsName, 'i-0bbbbbbbbbbbbbbb0');
    const ours = eksNode('spot-pool-7xk2p', instanceId);
    const fake = fakeNodeApi([decoy, ours]);

    // Act
    const found = await findNodeForInstance(fake.core, {
      instanceId,
      privateDnsName: dnsName,
      availabilityZone: zone,
    });

    // Assess
    expect(found.node?.metadata?.name).toBe('spot-pool-7xk2p');
    expect(found.via).toBe(`list topology.kubernetes.io/zone=${zone}`);
    expect(fake.calls.map((c) => [c.method, c.args])).toEqual([
      ['readNode', { name: dnsName }],
      ['readNode', { name: instanceId }],
      ['listNode', { labelSelector: `kubernetes.io/hostname=${dnsName}`, limit: 500, _continue: undefined }],
      [
        'listNode',
        { labelSelector: `topology.kubernetes.io/zone=${zone}`, limit: 500, _continue: undefined },
      ],
    ]);
    expect(found.requests).toBe(4);
  });

  it('finds a node by its hostname label when its name differs', async () => {
    // Prepare
    const renamed = eksNode('worker-17', instanceId, { labels: { 'kubernetes.io/hostname': dnsName } });
    const fake = fakeNodeApi([renamed]);

    // Act
    const found = await findNodeForInstance(fake.core, {
      instanceId,
      privateDnsName: dnsName,
      availabilityZone: zone,
    });

    // Assess
    expect(found.node?.metadata?.name).toBe('worker-17');
    expect(found.via).toBe(`list kubernetes.io/hostname=${dnsName}`);
    expect(found.requests).toBe(3);
  });

  it('pages through a large zone with continue tokens', async () => {
    // Prepare: 1,100 nodes in the zone, ours last.
    const others = Array.from({ length: 1_099 }, (_, i) =>
      eksNode(`node-${String(i).padStart(4, '0')}`, `i-0${String(i).padStart(16, '0')}`),
    );
    const fake = fakeNodeApi([...others, eksNode('node-last', instanceId)]);

    // Act
    const found = await findNodeForInstance(fake.core, { instanceId, availabilityZone: zone });

    // Assess
    expect(found.node?.metadata?.name).toBe('node-last');
    const lists = fake.calls.filter((c) => c.method === 'listNode').map((c) => c.args);
    expect(lists).toEqual([
      { labelSelector: `topology.kubernetes.io/zone=${zone}`, limit: 500, _continue: undefined },
      { labelSelector: `topology.kubernetes.io/zone=${zone}`, limit: 500, _continue: '500' },
      { labelSelector: `topology.kubernetes.io/zone=${zone}`, limit: 500, _continue: '1000' },
    ]);
    expect(found.requests).toBe(4);
  });

  it('lists every node when the zone is unknown', async () => {
    // Prepare: no zone label at all on the node.
    const node = eksNode('worker-3', instanceId);
    delete node.metadata!.labels!['topology.kubernetes.io/zone'];
    const fake = fakeNodeApi([node]);

    // Act
    const found = await findNodeForInstance(fake.core, { instanceId });

    // Assess
    expect(found.node?.metadata?.name).toBe('worker-3');
    expect(found.via).toBe('list all nodes');
    expect(fake.calls.map((c) => [c.method, c.args])).toEqual([
      ['readNode', { name: instanceId }],
      ['listNode', { labelSelector: undefined, limit: 500, _continue: undefined }],
    ]);
  });

  it('reports every way it tried when there is no node', async () => {
    // Prepare
    const fake = fakeNodeApi([eksNode('ip-10-0-9-9.ec2.internal', 'i-0aaaaaaaaaaaaaaa0')]);

    // Act
    const found = await findNodeForInstance(fake.core, {
      instanceId,
      privateDnsName: dnsName,
      availabilityZone: zone,
    });

    // Assess
    expect(found.node).toBeUndefined();
    expect(found.via).toBe(
      `names [${dnsName}, ${instanceId}] and lists [kubernetes.io/hostname=${dnsName}, topology.kubernetes.io/zone=${zone}]`,
    );
    expect(found.requests).toBe(4);
  });

  it('throws an API failure other than 404', async () => {
    // Prepare
    const fake = fakeNodeApi([]);
    fake.core.readNode = (async () => {
      throw apiError(403, { reason: 'Forbidden', message: 'nodes "x" is forbidden' });
    }) as typeof fake.core.readNode;

    // Act
    const finding = findNodeForInstance(fake.core, { instanceId, privateDnsName: dnsName });

    // Assess
    await expect(finding).rejects.toMatchObject({ code: 403 });
  });
});
