import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  decidePod,
  type PodDecision,
  type PodFacts,
  tierOf,
  toleratesAll,
  toleratesTaint,
} from '../../../src/drain/filters.js';
import { type DrainOptions, defaultDrainOptions } from '../../../src/drain/options.js';

const replicaSet: k8s.V1OwnerReference = {
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  name: 'web-5d8f',
  uid: 'rs-uid',
  controller: true,
};
const daemonSet: k8s.V1OwnerReference = {
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  name: 'aws-node',
  uid: 'ds-uid',
  controller: true,
};

/** A running pod owned by a ReplicaSet; `change` edits a copy. */
function pod(change: (p: k8s.V1Pod) => void = () => {}): k8s.V1Pod {
  const p: k8s.V1Pod = {
    metadata: { name: 'web-1', namespace: 'shop', uid: 'pod-uid', ownerReferences: [replicaSet] },
    spec: { containers: [{ name: 'app' }], nodeName: 'ip-10-0-0-1.ec2.internal' },
    status: { phase: 'Running' },
  };
  change(p);
  return p;
}

/** The node as a drain with TAINT_NODE leaves it: cordoned and tainted for a Spot notice. */
const drainerTainted: PodFacts = {
  daemonSetExists: () => true,
  nodeTaints: [
    { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' },
    { key: 'eks-spot-drainer/spot-interruption', effect: 'NoSchedule' },
  ],
};

const withEmptyDir = (p: k8s.V1Pod) => {
  p.spec!.volumes = [{ name: 'cache', emptyDir: {} }];
};
const bare = (p: k8s.V1Pod) => {
  p.metadata!.ownerReferences = undefined;
};

describe('decidePod', () => {
  const cases: {
    name: string;
    pod: k8s.V1Pod;
    options?: Partial<DrainOptions>;
    facts?: PodFacts;
    expected: PodDecision;
  }[] = [
    {
      name: 'evicts a ReplicaSet pod without a warning',
      pod: pod(),
      expected: { action: 'evict', tier: 'ordinary' },
    },
    {
      name: 'keeps a pod that asks not to be disrupted through a voluntary drain',
      pod: pod((p) => {
        p.metadata!.annotations = { 'karpenter.sh/do-not-disrupt': 'true' };
      }),
      options: { keepDoNotDisrupt: true },
      expected: {
        action: 'skip',
        tier: 'ordinary',
        reason: 'karpenter.sh/do-not-disrupt: kept through a voluntary drain',
      },
    },
    {
      name: 'evicts it, saying so, when the instance goes at a set time',
      pod: pod((p) => {
        p.metadata!.annotations = { 'eks-spot-drainer/do-not-disrupt': 'true' };
      }),
      expected: {
        action: 'evict',
        tier: 'ordinary',
        warning: 'eks-spot-drainer/do-not-disrupt overridden: the instance goes at a set time',
      },
    },
    {
      name: 'skips a DaemonSet pod by default',
      pod: pod((p) => {
        p.metadata!.ownerReferences = [daemonSet];
      }),
      expected: { action: 'skip', tier: 'ordinary', reason: 'DaemonSet pod (EVICT_DAEMONSET_PODS=false)' },
    },
    {
      name: 'treats a DaemonSet owner that is not the controller as no controller',
      pod: pod((p) => {
        p.metadata!.ownerReferences = [{ ...daemonSet, controller: false }];
      }),
      expected: { action: 'evict', tier: 'ordinary', warning: 'no controller: it will not be recreated' },
    },
    {
      name: 'skips a mirror pod',
      pod: pod((p) => {
        p.metadata!.annotations = { 'kubernetes.io/config.mirror': 'abc123' };
        p.metadata!.ownerReferences = [
          { apiVersion: 'v1', kind: 'Node', name: 'n', uid: 'n', controller: true },
        ];
      }),
      expected: { action: 'skip', tier: 'ordinary', reason: 'mirror pod (static)' },
    },
    {
      name: 'skips a mirror pod whose annotation is empty',
      pod: pod((p) => {
        p.metadata!.annotations = { 'kubernetes.io/config.mirror': '' };
      }),
      expected: { action: 'skip', tier: 'ordinary', reason: 'mirror pod (static)' },
    },
    {
      name: 'deletes a Succeeded pod, as kubectl does',
      pod: pod((p) => {
        p.status!.phase = 'Succeeded';
      }),
      expected: { action: 'evict', tier: 'ordinary', warning: 'finished (Succeeded): deleted' },
    },
    {
      name: 'deletes a Failed pod, whatever it mounts and whoever owns it',
      pod: pod((p) => {
        p.status!.phase = 'Failed';
        withEmptyDir(p);
        bare(p);
      }),
      options: { deleteEmptyDirData: false, evictUnmanagedPods: false },
      expected: { action: 'evict', tier: 'ordinary', warning: 'finished (Failed): deleted' },
    },
    {
      name: 'evicts a DaemonSet pod whose DaemonSet is gone as an unmanaged pod',
      pod: pod((p) => {
        p.metadata!.ownerReferences = [daemonSet];
      }),
      facts: { daemonSetExists: () => false, nodeTaints: [] },
      expected: {
        action: 'evict',
        tier: 'ordinary',
        warning: 'its DaemonSet aws-node no longer exists: it will not be recreated',
      },
    },
    {
      name: 'skips a DaemonSet pod whose DaemonSet is gone when unmanaged pods may not go',
      pod: pod((p) => {
        p.metadata!.ownerReferences = [daemonSet];
      }),
      facts: { daemonSetExists: () => false, nodeTaints: [] },
      options: { evictUnmanagedPods: false },
      expected: {
        action: 'skip',
        tier: 'ordinary',
        reason: 'its DaemonSet aws-node no longer exists (EVICT_UNMANAGED_PODS=false)',
      },
    },
    {
      name: 'evicts a DaemonSet pod after the others when DaemonSet pods may go',
      pod: pod((p) => {
        p.metadata!.ownerReferences = [daemonSet];
      }),
      options: { evictDaemonSetPods: true },
      facts: drainerTainted,
      expected: { action: 'evict', tier: 'daemonset' },
    },
    {
      name: 'evicts a critical DaemonSet pod after every other DaemonSet pod',
      pod: pod((p) => {
        p.metadata!.ownerReferences = [daemonSet];
        p.spec!.priorityClassName = 'system-node-critical';
      }),
      options: { evictDaemonSetPods: true },
      facts: drainerTainted,
      expected: { action: 'evict', tier: 'critical-daemonset' },
    },
    {
      name: 'keeps the warnings of a DaemonSet pod evicted after the others',
      pod: pod((p) => {
        p.metadata!.ownerReferences = [daemonSet];
        withEmptyDir(p);
      }),
      options: { evictDaemonSetPods: true },
      facts: drainerTainted,
      expected: { action: 'evict', tier: 'daemonset', warning: 'emptyDir data is lost' },
    },
    {
      name: 'waits for a terminating DaemonSet pod in its DaemonSet tier',
      pod: pod((p) => {
        p.metadata!.ownerReferences = [daemonSet];
        p.metadata!.deletionTimestamp = new Date('2025-06-05T07:00:10Z');
      }),
      options: { evictDaemonSetPods: true },
      facts: drainerTainted,
      expected: { action: 'wait', tier: 'daemonset' },
    },
    {
      name: 'leaves a DaemonSet pod that tolerates every taint of the node: it would come back',
      pod: pod((p) => {
        p.metadata!.ownerReferences = [daemonSet];
        p.spec!.tolerations = [{ operator: 'Exists' }];
      }),
      options: { evictDaemonSetPods: true },
      facts: drainerTainted,
      expected: {
        action: 'skip',
        tier: 'ordinary',
        reason: 'DaemonSet pod that tolerates every taint of the node: its DaemonSet would put it back',
      },
    },
    {
      name: 'leaves a DaemonSet pod when the node could not be read',
      pod: pod((p) => {
        p.metadata!.ownerReferences = [daemonSet];
      }),
      options: { evictDaemonSetPods: true },
      facts: { daemonSetExists: () => true, nodeTaints: undefined },
      expected: {
        action: 'skip',
        tier: 'ordinary',
        reason: 'DaemonSet pod: the node could not be read to tell if it would return',
      },
    },
    {
      name: 'evicts a DaemonSet pod whose DaemonSet is gone with the ordinary pods',
      pod: pod((p) => {
        p.metadata!.ownerReferences = [daemonSet];
      }),
      options: { evictDaemonSetPods: true },
      facts: { daemonSetExists: () => false, nodeTaints: [] },
      expected: {
        action: 'evict',
        tier: 'ordinary',
        warning: 'its DaemonSet aws-node no longer exists: it will not be recreated',
      },
    },
    {
      name: 'evicts an emptyDir pod with a warning when emptyDir data may be deleted',
      pod: pod(withEmptyDir),
      options: { deleteEmptyDirData: true },
      expected: { action: 'evict', tier: 'ordinary', warning: 'emptyDir data is lost' },
    },
    {
      name: 'skips an emptyDir pod when emptyDir data may not be deleted',
      pod: pod(withEmptyDir),
      options: { deleteEmptyDirData: false },
      expected: { action: 'skip', tier: 'ordinary', reason: 'uses emptyDir (DELETE_EMPTYDIR_DATA=false)' },
    },
    {
      name: 'ignores volumes that are not emptyDir',
      pod: pod((p) => {
        p.spec!.volumes = [{ name: 'config', configMap: { name: 'c' } }];
      }),
      options: { deleteEmptyDirData: false },
      expected: { action: 'evict', tier: 'ordinary' },
    },
    {
      name: 'evicts a pod without a controller with a warning when unmanaged pods may go',
      pod: pod(bare),
      options: { evictUnmanagedPods: true },
      expected: { action: 'evict', tier: 'ordinary', warning: 'no controller: it will not be recreated' },
    },
    {
      name: 'skips a pod without a controller when unmanaged pods may not go',
      pod: pod(bare),
      options: { evictUnmanagedPods: false },
      expected: { action: 'skip', tier: 'ordinary', reason: 'no controller (EVICT_UNMANAGED_PODS=false)' },
    },
    {
      name: 'waits for a pod that is already being deleted',
      pod: pod((p) => {
        p.metadata!.deletionTimestamp = new Date('2025-06-05T07:00:10Z');
      }),
      expected: { action: 'wait', tier: 'ordinary' },
    },
    {
      name: 'waits for a terminating pod and drops its warnings',
      pod: pod((p) => {
        withEmptyDir(p);
        p.metadata!.deletionTimestamp = new Date('2025-06-05T07:00:10Z');
      }),
      expected: { action: 'wait', tier: 'ordinary' },
    },
    {
      name: 'deletes a finished pod even when it is being deleted',
      pod: pod((p) => {
        p.status!.phase = 'Succeeded';
        p.metadata!.deletionTimestamp = new Date('2025-06-05T07:00:10Z');
      }),
      expected: { action: 'evict', tier: 'ordinary', warning: 'finished (Succeeded): deleted' },
    },
    {
      name: 'accumulates the warnings of every filter that passes',
      pod: pod((p) => {
        withEmptyDir(p);
        bare(p);
      }),
      expected: {
        action: 'evict',
        tier: 'ordinary',
        warning: 'emptyDir data is lost; no controller: it will not be recreated',
      },
    },
    {
      name: 'lets the first skip win over a later one',
      pod: pod((p) => {
        p.metadata!.annotations = { 'kubernetes.io/config.mirror': 'abc' };
        p.metadata!.ownerReferences = [daemonSet];
      }),
      expected: { action: 'skip', tier: 'ordinary', reason: 'mirror pod (static)' },
    },
    {
      name: 'lets a skip win over an earlier warning',
      pod: pod((p) => {
        withEmptyDir(p);
        bare(p);
      }),
      options: { deleteEmptyDirData: true, evictUnmanagedPods: false },
      expected: { action: 'skip', tier: 'ordinary', reason: 'no controller (EVICT_UNMANAGED_PODS=false)' },
    },
    {
      name: 'keeps the tier of a skipped pod',
      pod: pod((p) => {
        p.metadata!.ownerReferences = [daemonSet];
        p.spec!.priorityClassName = 'system-node-critical';
      }),
      expected: { action: 'skip', tier: 'critical', reason: 'DaemonSet pod (EVICT_DAEMONSET_PODS=false)' },
    },
    {
      name: 'evicts a critical pod in the critical tier',
      pod: pod((p) => {
        p.spec!.priority = 2_000_000_000;
      }),
      expected: { action: 'evict', tier: 'critical' },
    },
    {
      name: 'tolerates a pod with no metadata, spec or status',
      pod: {},
      expected: { action: 'evict', tier: 'ordinary', warning: 'no controller: it will not be recreated' },
    },
  ];

  it.each(cases)('$name', ({ pod: input, options, facts, expected }) => {
    // Act
    const decision = decidePod(input, { ...defaultDrainOptions, ...options }, facts);

    // Assess
    expect(decision).toEqual(expected);
  });
});

describe('tierOf', () => {
  const cases: { name: string; spec: Partial<k8s.V1PodSpec>; threshold?: number; expected: string }[] = [
    { name: 'no priority is ordinary', spec: {}, expected: 'ordinary' },
    {
      name: 'priority below the threshold is ordinary',
      spec: { priority: 1_999_999_999 },
      expected: 'ordinary',
    },
    {
      name: 'priority at the threshold is critical',
      spec: { priority: 2_000_000_000 },
      expected: 'critical',
    },
    {
      name: 'system-node-critical priority is critical',
      spec: { priority: 2_000_001_000 },
      expected: 'critical',
    },
    {
      name: 'system-cluster-critical class is critical whatever the priority',
      spec: { priorityClassName: 'system-cluster-critical' },
      expected: 'critical',
    },
    {
      name: 'system-node-critical class is critical whatever the priority',
      spec: { priorityClassName: 'system-node-critical', priority: 0 },
      expected: 'critical',
    },
    {
      name: 'another class with a low priority is ordinary',
      spec: { priorityClassName: 'high-priority', priority: 1_000_000 },
      expected: 'ordinary',
    },
    {
      name: 'a lowered threshold makes a high priority critical',
      spec: { priorityClassName: 'high-priority', priority: 1_000_000 },
      threshold: 1_000_000,
      expected: 'critical',
    },
    { name: 'a negative priority is ordinary', spec: { priority: -10 }, expected: 'ordinary' },
  ];

  it.each(cases)('$name', ({ spec, threshold, expected }) => {
    // Prepare
    const input: k8s.V1Pod = { spec: { containers: [], ...spec } };
    const options = { ...defaultDrainOptions, criticalPriorityThreshold: threshold ?? 2_000_000_000 };

    // Act
    const tier = tierOf(input, options);

    // Assess
    expect(tier).toBe(expected);
  });
});

describe('toleratesTaint', () => {
  const taint: k8s.V1Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
  const cases: { name: string; toleration: k8s.V1Toleration; expected: boolean }[] = [
    {
      name: 'Exists without a key tolerates every taint',
      toleration: { operator: 'Exists' },
      expected: true,
    },
    { name: 'Exists with its key', toleration: { key: 'dedicated', operator: 'Exists' }, expected: true },
    { name: 'Exists with another key', toleration: { key: 'other', operator: 'Exists' }, expected: false },
    {
      name: 'Equal with the value',
      toleration: { key: 'dedicated', operator: 'Equal', value: 'gpu' },
      expected: true,
    },
    { name: 'no operator means Equal', toleration: { key: 'dedicated', value: 'gpu' }, expected: true },
    {
      name: 'Equal with another value',
      toleration: { key: 'dedicated', operator: 'Equal', value: 'cpu' },
      expected: false,
    },
    {
      name: 'another effect',
      toleration: { key: 'dedicated', operator: 'Exists', effect: 'NoExecute' },
      expected: false,
    },
    {
      name: 'the same effect',
      toleration: { key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' },
      expected: true,
    },
  ];

  it.each(cases)('$name', ({ toleration, expected }) => {
    // Act
    const tolerated = toleratesTaint(toleration, taint);

    // Assess
    expect(tolerated).toBe(expected);
  });
});

describe('toleratesAll', () => {
  it('ignores the cordon and PreferNoSchedule taints, which never keep a DaemonSet pod away', () => {
    // Prepare
    const daemonPod = pod((p) => {
      p.spec!.tolerations = [];
    });
    const taints: k8s.V1Taint[] = [
      { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' },
      { key: 'soft', effect: 'PreferNoSchedule' },
    ];

    // Act
    const tolerated = toleratesAll(daemonPod, taints);

    // Assess
    expect(tolerated).toBe(true);
  });

  it('needs every NoSchedule and NoExecute taint tolerated', () => {
    // Prepare
    const daemonPod = pod((p) => {
      p.spec!.tolerations = [{ key: 'eks-spot-drainer/spot-interruption', operator: 'Exists' }];
    });
    const taints: k8s.V1Taint[] = [
      { key: 'eks-spot-drainer/spot-interruption', effect: 'NoSchedule' },
      { key: 'dedicated', value: 'gpu', effect: 'NoExecute' },
    ];

    // Act
    const tolerated = toleratesAll(daemonPod, taints);

    // Assess
    expect(tolerated).toBe(false);
  });
});
