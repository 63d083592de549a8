import {
  EC2Client,
  type Instance,
  RunInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import * as k8s from '@kubernetes/client-node';
import { writePatch } from '../src/interruption/marks.js';
import { type InterruptionRecord, type Reason, RecordState } from '../src/interruption/record.js';
import { NoticeKind } from '../src/types.js';
import type { AdminClients } from '../test/bed/kube.js';
import { uniqueSuffix, waitFor } from '../test/bed/kube.js';
import { motoCredentials } from '../test/bed/moto.js';
import type { TestBedInfo } from '../test/bed/testbed.js';

/**
 * The marked nodes of a cluster in the middle of a bad day, as the reconcile finds them: each state
 * in equal parts, each with the EC2 state that keeps it where it is (a steady pass moves none on).
 */
export const markedStates = ['cordoned', 'drained', 'out-of-service', 'scheduled', 'waiting'] as const;
export type MarkedState = (typeof markedStates)[number];

export interface ReconcileWorld {
  /** A label every node of the world carries, to find and remove them. */
  selector: string;
  nodes: { name: string; instanceId: string; state: MarkedState }[];
  setupMs: number;
}

/** Nodes created or patched at once: the bed is two cores shared with the control plane. */
const writeConcurrency = 25;
/** Instances per RunInstances (MinCount = MaxCount), and ids per Stop/TerminateInstances. */
const ec2Batch = 200;

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/**
 * `count` Spot instances in moto (RunInstances in batches) and a KWOK node for each, named and
 * labelled as EKS names them; once every node is Ready, a record written on it with the door's own
 * patch (marks.ts writePatch), so the records, marks and labels are what the door writes. EC2 then
 * stops the out-of-service nodes' instances and terminates the drained ones'.
 */
export async function prepareReconcileWorld(
  admin: AdminClients,
  bed: TestBedInfo,
  count: number,
): Promise<ReconcileWorld> {
  const started = performance.now();
  const tag = `bench-reconcile-${uniqueSuffix()}`;
  const world: ReconcileWorld = { selector: `${tag}=y`, nodes: [], setupMs: 0 };
  const ec2 = new EC2Client({ region: bed.region, endpoint: bed.awsEndpoint, credentials: motoCredentials });
  try {
    const instances: Instance[] = [];
    for (let i = 0; i < count; i += ec2Batch)
      instances.push(...(await runInstances(ec2, bed, Math.min(ec2Batch, count - i))));
    world.nodes = instances.map((instance, i) => ({
      name: instance.PrivateDnsName!,
      instanceId: instance.InstanceId!,
      state: markedStates[i % markedStates.length]!,
    }));
    await inBatches(world.nodes, (n, i) => createNode(admin, n.name, instances[i]!, tag));
    await waitFor(
      `${count} reconcile nodes Ready`,
      async () => {
        const list = await admin.core.listNode({ labelSelector: world.selector });
        return (
          list.items.filter((n) =>
            n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          ).length >= count
        );
      },
      300_000,
      1_000,
    );
    // Every reason is recorded after its node went Ready: a kubelet Ready since would close it.
    const now = new Date(Date.now() + 1_000);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await inBatches(world.nodes, async (n) => {
      const node = await admin.core.readNode({ name: n.name });
      const { record, effects } = recordFor(n.state, n.instanceId, now);
      await admin.core.patchNode({ name: n.name, body: writePatch(node, record, effects, now) }, mergePatch);
    });
    const idsIn = (state: MarkedState) =>
      world.nodes.filter((n) => n.state === state).map((n) => n.instanceId);
    for (const ids of chunks(idsIn('out-of-service'), ec2Batch))
      await ec2.send(new StopInstancesCommand({ InstanceIds: ids }));
    for (const ids of chunks(idsIn('drained'), ec2Batch))
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
    world.setupMs = performance.now() - started;
    return world;
  } catch (error) {
    await removeReconcileWorld(admin, world);
    throw error;
  } finally {
    ec2.destroy();
  }
}

export async function removeReconcileWorld(admin: AdminClients, world: ReconcileWorld): Promise<void> {
  await admin.core.deleteCollectionNode({ labelSelector: world.selector });
}

async function runInstances(ec2: EC2Client, bed: TestBedInfo, count: number): Promise<Instance[]> {
  const output = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b', // one of moto's built-in AMIs
      InstanceType: 'm5.large',
      MinCount: count,
      MaxCount: count,
      Placement: { AvailabilityZone: `${bed.region}a` },
      InstanceMarketOptions: { MarketType: 'spot' },
      TagSpecifications: [
        { ResourceType: 'instance', Tags: [{ Key: 'aws:eks:cluster-name', Value: bed.clusterName }] },
      ],
    }),
  );
  const instances = output.Instances ?? [];
  if (instances.length !== count || instances.some((i) => !i.InstanceId || !i.PrivateDnsName)) {
    throw new Error(
      `moto RunInstances returned ${instances.length} of ${count} instances, or incomplete ones`,
    );
  }
  return instances;
}

async function createNode(admin: AdminClients, name: string, instance: Instance, tag: string): Promise<void> {
  const zone = instance.Placement?.AvailabilityZone ?? 'us-east-1a';
  const capacity = { cpu: '64', memory: '256Gi', pods: '250', 'ephemeral-storage': '100Gi' };
  await admin.core.createNode({
    body: {
      metadata: {
        name,
        labels: {
          type: 'kwok',
          [tag]: 'y',
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'topology.kubernetes.io/zone': zone,
          'eks.amazonaws.com/capacityType': 'SPOT',
        },
        annotations: { 'kwok.x-k8s.io/node': 'fake' },
      },
      spec: { providerID: `aws:///${zone}/${instance.InstanceId}` },
      status: { capacity, allocatable: capacity, phase: 'Running' },
    },
  });
}

/**
 * A record in `state` as the door leaves it, with the reason that keeps it there: a rebalance cordon
 * (no time limit by default), a Spot warning whose instance EC2 stopped or terminated, a Health
 * change a week away, a rebalance cordon waiting for the disruption budget.
 */
export function recordFor(
  state: MarkedState,
  instanceId: string,
  now: Date,
): { record: InterruptionRecord; effects: { mark: boolean; outOfService: boolean } } {
  const at = now.toISOString();
  const inDays = (days: number) => new Date(now.getTime() + days * 86_400_000).toISOString();
  const reason = (kind: Reason['kind'], action: Reason['action'], deadline: string): Reason => ({
    kind,
    action,
    eventId: `bench-${state}-${instanceId}`,
    at,
    deadline,
  });
  const spot = reason(NoticeKind.SpotInterruption, 'drain', new Date(now.getTime() + 120_000).toISOString());
  const rebalance = reason(NoticeKind.RebalanceRecommendation, 'cordon', inDays(1));
  const cordoned = { cordoned: true, taints: [], lbLabel: false };
  const unmarked = { cordoned: false, taints: [], lbLabel: false };
  const base = { v: 3 as const, since: at, updatedAt: at, hooks: [] };
  switch (state) {
    case 'cordoned':
      return {
        record: {
          ...base,
          state: RecordState.Cordoned,
          reasons: [rebalance],
          deadline: rebalance.deadline,
          marks: cordoned,
        },
        effects: { mark: true, outOfService: false },
      };
    case 'drained':
      return {
        record: {
          ...base,
          state: RecordState.Drained,
          reasons: [spot],
          deadline: spot.deadline,
          holder: 'bench',
          marks: cordoned,
        },
        effects: { mark: true, outOfService: false },
      };
    case 'out-of-service':
      return {
        record: {
          ...base,
          state: RecordState.OutOfService,
          reasons: [{ ...spot, detail: 'stop' }],
          deadline: spot.deadline,
          holder: 'bench',
          marks: { ...cordoned, taints: ['node.kubernetes.io/out-of-service'] },
        },
        effects: { mark: true, outOfService: true },
      };
    case 'scheduled': {
      const change = reason(NoticeKind.ScheduledChange, 'drain', inDays(7));
      const scheduled = {
        eventArn: `arn:aws:health:us-east-1::event/EC2/bench/${instanceId}`,
        start: inDays(7),
        drainAt: inDays(6),
      };
      return {
        record: {
          ...base,
          state: RecordState.Scheduled,
          reasons: [{ ...change, scheduled }],
          deadline: change.deadline,
          marks: unmarked,
        },
        effects: { mark: false, outOfService: false },
      };
    }
    case 'waiting':
      return {
        record: {
          ...base,
          state: RecordState.Waiting,
          reasons: [rebalance],
          deadline: rebalance.deadline,
          marks: unmarked,
        },
        effects: { mark: false, outOfService: false },
      };
  }
}

async function inBatches<T>(
  items: readonly T[],
  act: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await act(items[i]!, i);
  };
  await Promise.all(Array.from({ length: writeConcurrency }, worker));
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) =>
    items.slice(i * size, (i + 1) * size),
  );
}
