/**
 * What happens to a machine outside Kubernetes, played on the test bed: EC2 stops, starts,
 * hibernates or terminates the instance (moto), holds it in a passing state (stopping,
 * shutting-down) as EC2 does for a while, and its kubelet stops or comes back (KWOK lets go of the
 * node, or takes it back, and the node's status says so as the node lifecycle controller and a
 * kubelet would).
 */
import {
  DescribeInstancesCommand,
  EC2Client,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import * as k8s from '@kubernetes/client-node';
import { motoCredentials } from './moto.js';

const strategicMerge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

async function withEc2<T>(endpoint: string, use: (ec2: EC2Client) => Promise<T>): Promise<T> {
  const ec2 = new EC2Client({ region: 'us-east-1', endpoint, credentials: motoCredentials });
  try {
    return await use(ec2);
  } finally {
    ec2.destroy();
  }
}

export const instances = {
  stop: (endpoint: string, id: string) =>
    withEc2(endpoint, (ec2) => ec2.send(new StopInstancesCommand({ InstanceIds: [id] }))),
  start: (endpoint: string, id: string) =>
    withEc2(endpoint, (ec2) => ec2.send(new StartInstancesCommand({ InstanceIds: [id] }))),
  terminate: (endpoint: string, id: string) =>
    withEc2(endpoint, (ec2) => ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }))),
  /** The instance in `state` now, with EC2's state reason (moto's StopInstances skips `stopping`). */
  hold: (controlEndpoint: string, id: string, state: Ec2State, reasonCode?: string) =>
    setInstanceState(controlEndpoint, id, state, reasonCode),
  /** Stopped by hibernation: EC2's state reason says so, and the machine resumes with its boot id. */
  hibernate: (controlEndpoint: string, id: string) =>
    setInstanceState(controlEndpoint, id, 'stopped', 'Client.UserInitiatedHibernate'),
  state: (endpoint: string, id: string) =>
    withEc2(endpoint, async (ec2) => {
      const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
      return out.Reservations?.[0]?.Instances?.[0]?.State?.Name;
    }),
};

export type Ec2State = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

async function setInstanceState(
  controlEndpoint: string,
  instanceId: string,
  state: Ec2State,
  reasonCode?: string,
): Promise<void> {
  const response = await fetch(`${controlEndpoint}/ec2/instance-state`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instanceId, state, ...(reasonCode ? { reasonCode } : {}) }),
  });
  if (!response.ok) throw new Error(`moto control: HTTP ${response.status} ${await response.text()}`);
}

/** Gives the node's kubelet a boot id (real kubelets always report one). */
export async function setBootId(core: k8s.CoreV1Api, nodeName: string, bootID: string): Promise<void> {
  await core.patchNodeStatus({ name: nodeName, body: { status: { nodeInfo: { bootID } } } }, strategicMerge);
}

/**
 * The kubelet stops: KWOK no longer plays it (its pods are no longer deleted when evicted, as on a
 * dead machine) and the node turns Ready=Unknown, as the node lifecycle controller marks it.
 */
export async function stopKubelet(core: k8s.CoreV1Api, nodeName: string): Promise<void> {
  await core.patchNode(
    { name: nodeName, body: { metadata: { labels: { type: 'stopped-kubelet' } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  await core.patchNodeStatus(
    {
      name: nodeName,
      body: {
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'Unknown',
              reason: 'NodeStatusUnknown',
              message: 'Kubelet stopped posting node status.',
              lastHeartbeatTime: new Date(),
              lastTransitionTime: new Date(),
            },
          ],
        },
      },
    },
    strategicMerge,
  );
}

/**
 * The machine runs again: Ready (with `bootID`: a new one after a boot, the same one after a resumed
 * hibernation, whose memory image holds it), and KWOK plays its kubelet again.
 */
export async function startKubelet(core: k8s.CoreV1Api, nodeName: string, bootID: string): Promise<void> {
  await core.patchNodeStatus(
    {
      name: nodeName,
      body: {
        status: {
          nodeInfo: { bootID },
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'kubelet is posting ready status',
              lastHeartbeatTime: new Date(),
              lastTransitionTime: new Date(),
            },
          ],
        },
      },
    },
    strategicMerge,
  );
  await core.patchNode(
    { name: nodeName, body: { metadata: { labels: { type: 'kwok' } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}
