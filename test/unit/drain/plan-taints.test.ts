/**
 * The taints a plan expects the node to carry while drained (podFacts): the key and effect the
 * marks write under NTH_TAINT_KEYS and TAINT_EFFECT, so a DaemonSet pod is judged against them.
 */
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { type DrainOptions, defaultDrainOptions } from '../../../src/drain/options.js';
import { podFacts } from '../../../src/drain/plan.js';

const daemonSetPod: k8s.V1Pod = {
  metadata: {
    namespace: 'kube-system',
    name: 'agent-x',
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'u', controller: true },
    ],
  },
};

/** An API that answers the node's GET with `taints` and every DaemonSet's GET as there. */
function apis(taints: k8s.V1Taint[]) {
  const core = { readNode: async () => ({ spec: { taints } }) };
  const apps = { readNamespacedDaemonSet: async () => ({}) };
  return { core: core as unknown as k8s.CoreV1Api, apps: apps as unknown as k8s.AppsV1Api };
}

describe('podFacts', () => {
  it.each<[string, Partial<DrainOptions>, k8s.V1Taint[]]>([
    ['as this project keys it', {}, [{ key: 'eks-spot-drainer/spot-interruption', effect: 'NoSchedule' }]],
    [
      'as NTH keys it, with the effect set',
      { taintKeys: 'aws-node-termination-handler', taintEffect: 'NoExecute' },
      [{ key: 'aws-node-termination-handler/spot-itn', effect: 'NoExecute' }],
    ],
  ])('expects the taint of a Spot notice %s before the node carries it', async (_, change, expected) => {
    // Act
    const facts = await podFacts(
      apis([]),
      'n',
      [daemonSetPod],
      { ...defaultDrainOptions, evictDaemonSetPods: true, ...change },
      'spot-interruption',
    );

    // Assess
    expect(facts.nodeTaints).toEqual(expected);
  });

  it('takes the taint the node carries under the key NTH_TAINT_KEYS names as the one it expects', async () => {
    // Prepare
    const carried: k8s.V1Taint = {
      key: 'aws-node-termination-handler/spot-itn',
      value: 'cordoned',
      effect: 'NoSchedule',
    };

    // Act
    const facts = await podFacts(
      apis([carried]),
      'n',
      [daemonSetPod],
      { ...defaultDrainOptions, evictDaemonSetPods: true, taintKeys: 'aws-node-termination-handler' },
      'spot-interruption',
    );

    // Assess
    expect(facts.nodeTaints).toEqual([carried]);
  });
});
