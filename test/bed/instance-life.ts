/**
 * What happens to a machine outside Kubernetes, played on the test bed: EC2 stops, starts or
 * terminates the instance (moto), and its kubelet stops or comes back (KWOK lets go of the node, or
 * takes it back, and the node's status says so as the node lifecycle controller and a kubelet would).
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
  state: (endpoint: string, id: string) =>
    withEc2(endpoint, async (ec2) => {
      const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
      return out.Reservations?.[0]?.Instances?.[0]?.State?.Name;
    }),
};

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

/** The machine booted again: a new boot id, Ready, and KWOK plays its kubelet again. */
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
