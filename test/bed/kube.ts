import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import type { Identity } from './control-plane.js';

/** What a test needs to reach the test bed's cluster; plain data, so it crosses to vitest workers. */
export interface ClusterInfo {
  server: string;
  caData: string;
  tokens: Record<Identity, string>;
  kubeconfigPaths: Record<Identity, string>;
}

/** An in-memory client-node config for one of the test bed's identities. */
export function kubeConfigFor(cluster: ClusterInfo, identity: Identity): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'testbed', server: cluster.server, caData: cluster.caData, skipTLSVerify: false }],
    users: [{ name: identity, token: cluster.tokens[identity] }],
    contexts: [{ name: identity, cluster: 'testbed', user: identity }],
    currentContext: identity,
  });
  return kc;
}

export interface AdminClients {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  policy: k8s.PolicyV1Api;
  scheduling: k8s.SchedulingV1Api;
}

export function adminClients(cluster: ClusterInfo): AdminClients {
  const kc = kubeConfigFor(cluster, 'admin');
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    policy: kc.makeApiClient(k8s.PolicyV1Api),
    scheduling: kc.makeApiClient(k8s.SchedulingV1Api),
  };
}

/** A random suffix for names, so tests sharing one control plane never collide. */
export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/** A fresh random instance id in EC2's 17-hex-digit form. */
export function randomInstanceId(): string {
  return `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

export interface SpotNodeSpec {
  instanceId?: string;
  availabilityZone?: string;
  /** The node's name; EKS names nodes after the instance's private DNS name. */
  name?: string;
  /** The kubernetes.io/hostname label; defaults to the name. */
  hostname?: string;
  podCapacity?: number;
  extraLabels?: Record<string, string>;
}

export interface SpotNode {
  name: string;
  instanceId: string;
  availabilityZone: string;
  providerId: string;
}

/**
 * Creates a KWOK-managed node that looks like an EKS Spot node: providerID aws:///<az>/<instance-id>,
 * hostname = private DNS name, and the labels EKS managed node groups and Karpenter set.
 */
export async function createSpotNode(core: k8s.CoreV1Api, spec: SpotNodeSpec = {}): Promise<SpotNode> {
  const instanceId = spec.instanceId ?? randomInstanceId();
  const availabilityZone = spec.availabilityZone ?? 'us-east-1a';
  const region = availabilityZone.slice(0, -1);
  const name = spec.name ?? `ip-10-0-${rand8()}-${rand8()}.ec2.internal`;
  const providerId = `aws:///${availabilityZone}/${instanceId}`;
  const capacity = {
    cpu: '64',
    memory: '256Gi',
    pods: String(spec.podCapacity ?? 250),
    'ephemeral-storage': '100Gi',
  };
  await core.createNode({
    body: {
      metadata: {
        name,
        labels: {
          type: 'kwok',
          'kubernetes.io/hostname': spec.hostname ?? name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'arm64',
          'node.kubernetes.io/instance-type': 'm7g.xlarge',
          'topology.kubernetes.io/zone': availabilityZone,
          'topology.kubernetes.io/region': region,
          'eks.amazonaws.com/capacityType': 'SPOT',
          'eks.amazonaws.com/nodegroup': 'spot',
          'karpenter.sh/capacity-type': 'spot',
          ...spec.extraLabels,
        },
        annotations: { 'kwok.x-k8s.io/node': 'fake' },
      },
      spec: { providerID: providerId },
      status: { capacity, allocatable: capacity, phase: 'Running' },
    },
  });
  await waitFor(`node ${name} Ready`, async () => {
    const node = await core.readNode({ name });
    return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  });
  return { name, instanceId, availabilityZone, providerId };
}

function rand8(): number {
  return randomBytes(1)[0]!;
}

/** Creates a namespace with a unique name and returns the name. */
export async function createNamespace(core: k8s.CoreV1Api, prefix: string): Promise<string> {
  const name = `${prefix}-${uniqueSuffix()}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

/** Polls `check` until it returns true, then returns; throws after `timeoutMs`, naming `what`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Pods of a namespace (optionally by label selector) that are Ready on some node. */
export async function readyPods(core: k8s.CoreV1Api, namespace: string, labelSelector?: string) {
  const list = await core.listNamespacedPod({ namespace, labelSelector });
  return list.items.filter(
    (p) =>
      !p.metadata?.deletionTimestamp &&
      p.spec?.nodeName &&
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
}

/** Waits until `count` pods matching the selector are Ready. */
export async function waitForReadyPods(
  core: k8s.CoreV1Api,
  namespace: string,
  labelSelector: string | undefined,
  count: number,
  timeoutMs = 60_000,
): Promise<k8s.V1Pod[]> {
  let pods: k8s.V1Pod[] = [];
  await waitFor(
    `${count} ready pods in ${namespace} (${labelSelector ?? 'all'})`,
    async () => {
      pods = await readyPods(core, namespace, labelSelector);
      return pods.length >= count;
    },
    timeoutMs,
  );
  return pods;
}

/** The HTTP status of a client-node ApiException, or undefined for anything else. */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}
