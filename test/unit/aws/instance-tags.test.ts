import { describe, expect, it } from 'vitest';
import { clusterNamesFromTags, resolveManagedCluster } from '../../../src/aws/instance-tags.js';

describe('clusterNamesFromTags', () => {
  it.each([
    ['aws:eks:cluster-name', { 'aws:eks:cluster-name': 'prod' }, ['prod']],
    ['eks:cluster-name', { 'eks:cluster-name': 'prod' }, ['prod']],
    ['kubernetes.io/cluster owned', { 'kubernetes.io/cluster/prod': 'owned' }, ['prod']],
    ['kubernetes.io/cluster shared', { 'kubernetes.io/cluster/prod': 'shared' }, ['prod']],
    ['karpenter.sh/discovery', { 'karpenter.sh/discovery': 'prod' }, ['prod']],
    ['no cluster tag', { Name: 'web-1' }, []],
    ['kubernetes.io/cluster with another value', { 'kubernetes.io/cluster/prod': 'yes' }, []],
    ['an empty value', { 'aws:eks:cluster-name': ' ' }, []],
  ])('reads %s', (_style, tags, expected) => {
    // Act
    const names = clusterNamesFromTags(tags);

    // Assess
    expect(names).toEqual(expected);
  });

  it('orders names by confidence and drops duplicates', () => {
    // Prepare
    const tags = {
      'karpenter.sh/discovery': 'discovery-group',
      'kubernetes.io/cluster/shared-one': 'shared',
      'kubernetes.io/cluster/owner': 'owned',
      'eks:cluster-name': 'eksctl-name',
      'aws:eks:cluster-name': 'managed',
      'kubernetes.io/cluster/managed': 'owned',
    };

    // Act
    const names = clusterNamesFromTags(tags);

    // Assess
    expect(names).toEqual(['managed', 'eksctl-name', 'owner', 'shared-one', 'discovery-group']);
  });
});

describe('resolveManagedCluster', () => {
  it('returns the first of the instance clusters that is managed', () => {
    // Act
    const cluster = resolveManagedCluster({ clusterNames: ['a', 'b', 'c'] }, ['c', 'b']);

    // Assess
    expect(cluster).toBe('b');
  });

  it('returns undefined for a cluster this deployment does not manage', () => {
    expect(resolveManagedCluster({ clusterNames: ['someone-else'] }, ['prod'])).toBeUndefined();
  });

  it('with MANAGED_TAG, manages only an instance carrying that tag key, whatever its value', () => {
    const tag = 'aws-node-termination-handler/managed';

    expect(resolveManagedCluster({ clusterNames: ['prod'], tags: {} }, ['prod'], tag)).toBeUndefined();
    expect(resolveManagedCluster({ clusterNames: ['prod'], tags: { [tag]: '' } }, ['prod'], tag)).toBe(
      'prod',
    );
    expect(
      resolveManagedCluster({ clusterNames: ['other'], tags: { [tag]: 'true' } }, ['prod'], tag),
    ).toBeUndefined();
  });

  it('returns undefined for an instance without cluster tags', () => {
    expect(resolveManagedCluster({ clusterNames: [] }, ['prod'])).toBeUndefined();
  });

  it('matches names exactly', () => {
    expect(resolveManagedCluster({ clusterNames: ['Prod', 'prod-2'] }, ['prod'])).toBeUndefined();
  });
});
