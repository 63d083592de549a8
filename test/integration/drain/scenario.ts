import { randomUUID } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { inject } from 'vitest';
import { type DrainContext, type DrainRequest, drainNode } from '../../../src/app/drain-node.js';
import type { NoticeResult } from '../../../src/app/notice-result.js';
import { defaultInterruptionConfig } from '../../../src/config.js';
import { type DrainOptions, defaultDrainOptions } from '../../../src/drain/options.js';
import { createKubeApis, type KubeApis } from '../../../src/kube/connection.js';
import { eventSource } from '../../../src/kube/node-events.js';
import { Action, NoticeKind } from '../../../src/types.js';
import {
  type AdminClients,
  adminClients,
  createNamespace,
  createSpotNode,
  kubeConfigFor,
  type SpotNode,
  uniqueSuffix,
  waitFor,
} from '../../bed/kube.js';

/**
 * One drain test's world on the shared control plane: its own namespace and node pool, the admin
 * clients to build it, and the drainer's clients (deploy/rbac.yaml only) to drain it.
 */
export interface Scenario {
  admin: AdminClients;
  drainer: KubeApis;
  namespace: string;
  pool: string;
  addNode(): Promise<SpotNode>;
  drain(
    node: SpotNode,
    overrides?: Partial<DrainRequest>,
    options?: Partial<DrainOptions>,
    timing?: DrainContext['timing'],
    onProgress?: DrainContext['onProgress'],
  ): Promise<NoticeResult>;
  podsOn(node: SpotNode): Promise<k8s.V1Pod[]>;
  nodeEvents(node: SpotNode): Promise<string[]>;
  /**
   * The node's Events once those with `reasons` are there: the drain writes Events in the background
   * and waits for them only briefly, so one may land just after the drain returns.
   */
  nodeEventsWith(node: SpotNode, reasons: string[]): Promise<string[]>;
  close(): void;
}

/** Grace periods end this long before a scenario's deadline, unless a test's options say otherwise. */
export const scenarioSafetyMarginMs = 1_000;

export async function createScenario(prefix: string): Promise<Scenario> {
  const bed = inject('testbed');
  const admin = adminClients(bed.cluster);
  const drainer = createKubeApis(kubeConfigFor(bed.cluster, 'drainer'));
  const namespace = await createNamespace(admin.core, prefix);
  const pool = `${prefix}-${uniqueSuffix()}`;
  const nodeEvents = async (node: SpotNode) => {
    const list = await admin.core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.name=${node.name}`,
    });
    // Ours only: the node controller writes its own (RegisteredNode) when it gets round to it.
    return list.items.filter((e) => e.source?.component === eventSource).map((e) => e.reason ?? '');
  };
  return {
    admin,
    drainer,
    namespace,
    pool,
    addNode: () => createSpotNode(admin.core, { extraLabels: { pool } }),
    drain: (node, overrides = {}, options = {}, timing = undefined, onProgress = undefined) =>
      drainNode(
        {
          nodeName: node.name,
          kind: NoticeKind.SpotInterruption,
          eventId: randomUUID(),
          action: Action.Drain,
          deadline: Date.now() + 60_000,
          holder: `test-${uniqueSuffix()}`,
          noticeMessage: `EC2 Spot Instance Interruption Warning for ${node.instanceId}`,
          ...overrides,
        },
        {
          apis: drainer,
          options: { ...defaultDrainOptions, safetyMarginMs: scenarioSafetyMarginMs, ...options },
          // The shared bed is one cluster every test file marks nodes of: no disruption budget over it.
          interruption: { ...defaultInterruptionConfig, disruptionBudget: undefined },
          ...(timing ? { timing } : {}),
          ...(onProgress ? { onProgress } : {}),
        },
      ),
    podsOn: async (node) => {
      const list = await admin.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node.name}` });
      return list.items.filter((p) => p.metadata?.namespace === namespace);
    },
    nodeEvents,
    nodeEventsWith: async (node, reasons) => {
      let events: string[] = [];
      await waitFor(`Events ${reasons.join(', ')} on ${node.name}`, async () => {
        events = await nodeEvents(node);
        return reasons.every((reason) => events.includes(reason));
      });
      return events;
    },
    close: () => drainer.close(),
  };
}

/** The names of pods, sorted, for assertions that read well. */
export function names(pods: { metadata?: { name?: string } }[] | { name: string }[]): string[] {
  return pods.map((p) => ('name' in p ? p.name : (p.metadata?.name ?? ''))).sort();
}
