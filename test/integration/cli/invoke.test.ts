import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { sampleEvent } from '../../../src/events/samples.js';
import { recordOn } from '../../../src/interruption/record.js';
import {
  adminClients,
  createNamespace,
  createSpotNode,
  type SpotNode,
  uniqueSuffix,
  waitForReadyPods,
} from '../../bed/kube.js';
import { createInstance } from '../../bed/moto.js';
import { testCredentials } from '../../bed/testbed.js';
import { createDaemonSet, createDeployment } from '../../bed/workloads.js';
import { errorLine, runCli, tempDir } from './run-cli.js';

const bed = inject('testbed');
const kubeconfig = bed.cluster.kubeconfigPaths.drainer;

describe('eks-spot-drainer invoke', () => {
  const admin = adminClients(bed.cluster);
  const files = tempDir('invoke');
  afterAll(() => rmSync(files, { recursive: true, force: true }));

  /** A Spot node with two Deployment pods and one DaemonSet pod, all Ready. */
  async function nodeWithPods(instanceId?: string, name?: string): Promise<SpotNode> {
    const namespace = await createNamespace(admin.core, 'cli');
    const pool = `cli-${uniqueSuffix()}`;
    const node = await createSpotNode(admin.core, {
      extraLabels: { pool },
      ...(instanceId ? { instanceId } : {}),
      ...(name ? { name } : {}),
    });
    await createDeployment(admin, namespace, 'web', 2, { pool, gracePeriodSeconds: 5 });
    await createDaemonSet(admin, namespace, 'agent', { pool });
    await waitForReadyPods(admin.core, namespace, undefined, 3);
    return node;
  }

  it('drains the node of a sample Spot warning with the drainer kubeconfig, live and with a summary', async () => {
    const node = await nodeWithPods();

    const run = await runCli([
      'invoke',
      '--event',
      'spot-interruption',
      '--instance',
      node.instanceId,
      '--kubeconfig',
      kubeconfig,
    ]);

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`spot-interruption (terminate) for ${node.instanceId}`);
    expect(run.stdout).toContain('-> cluster local (context drainer');
    expect(run.stdout).toMatch(/\] mark +cordoning /);
    expect(run.stdout).toMatch(/\] {3}skipped +cli-\S+\/agent-\S+ +DaemonSet pod/);
    expect(run.stdout.match(/\] {3}gone +cli-\S+\/web-/g)).toHaveLength(2);
    expect(run.stdout).toContain(`node ${node.name} of cluster local`);
    expect(run.stdout).toContain('outcome: drained');
    expect(run.stdout).toContain('pods: 2 evicted, 1 skipped, 0 blocked, 0 failed');
    expect(run.stdout).toMatch(
      /time: (mark \d+ ms, )?(list \d+ ms, )?evict ordinary [\d.]+ m?s, total [\d.]+ m?s/,
    );
    expect(run.stdout).toMatch(/deadline: \S+, [\d.]+ m?s left/);
    const drained = await admin.core.readNode({ name: node.name });
    expect(drained.spec?.unschedulable).toBe(true);
    expect(recordOn(drained)).toMatchObject({ state: 'drained', holder: expect.stringMatching(/^cli-/) });
  });

  it('changes nothing with --dry-run and reports what a drain would do', async () => {
    const node = await nodeWithPods();

    const run = await runCli([
      'invoke',
      '-e',
      'spot-interruption',
      '-i',
      node.instanceId,
      '--kubeconfig',
      kubeconfig,
      '--dry-run',
    ]);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('(dry run: nothing will change)');
    expect(run.stdout).toContain('outcome: dry-run');
    expect(run.stdout).toContain('pods: 0 evicted, 1 skipped, 0 blocked, 0 failed, 2 would-evict');
    const untouched = await admin.core.readNode({ name: node.name });
    expect(untouched.spec?.unschedulable).toBeFalsy();
    expect(recordOn(untouched)).toBeUndefined();
  });

  it('reads an event from a file and from standard input, piped from `events`', async () => {
    const node = await nodeWithPods();
    const file = join(files, 'rebalance.json');
    writeFileSync(
      file,
      JSON.stringify(sampleEvent('rebalance-recommendation', { instanceId: node.instanceId })),
    );

    const fromFile = await runCli(['invoke', '--event', file, '--kubeconfig', kubeconfig]);
    const printed = await runCli(['events', 'spot-interruption', '--instance', node.instanceId]);
    const fromStdin = await runCli(['invoke', '--event', '-', '--kubeconfig', kubeconfig], {
      input: printed.stdout,
    });

    // The default policy cordons on a rebalance recommendation; the Spot warning then upgrades to a drain.
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toContain('outcome: cordoned');
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout).toContain('outcome: drained');
    expect(fromStdin.stdout).toContain('2 evicted');
  });

  it('finds a node named after the instance in KUBECONFIG when no --kubeconfig is given', async () => {
    const instanceId = `i-${uniqueSuffix()}${uniqueSuffix()}0`;
    const node = await nodeWithPods(instanceId, instanceId);

    const run = await runCli(['invoke', '--event', 'spot-interruption', '--instance', node.instanceId], {
      env: { KUBECONFIG: kubeconfig },
    });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`node ${instanceId} of cluster local`);
  });

  it('reports an instance with no node as nothing to drain, and exits 0 like the function', async () => {
    const run = await runCli([
      'invoke',
      '--event',
      'spot-interruption',
      '--instance',
      'i-00000000000000404',
      '--kubeconfig',
      kubeconfig,
    ]);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('nothing to drain: node-not-found');
  });

  it('refuses a stale event as the function does: exit 2, nothing touched', async () => {
    // Prepare: the Spot warning's two minutes ended long ago.
    const node = await nodeWithPods();
    const file = join(files, 'stale.json');
    writeFileSync(
      file,
      JSON.stringify(
        sampleEvent('spot-interruption', { instanceId: node.instanceId, time: '2025-06-05T07:00:00Z' }),
      ),
    );

    // Act
    const run = await runCli(['invoke', '--event', file, '--kubeconfig', kubeconfig]);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(
      /: rejected: stale: event time 2025-06-05T07:00:00.000Z: its deadline .* passed/,
    );
    const untouched = await admin.core.readNode({ name: node.name });
    expect(untouched.spec?.unschedulable).toBeFalsy();
    expect(recordOn(untouched)).toBeUndefined();
  });

  it('says an ignored event is ignored, without contacting a cluster', async () => {
    const run = await runCli(['invoke', '--event', 'asg-test-notification', '--kubeconfig', '/nonexistent']);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/ignored: Auto Scaling test notification/);
  });

  it('says an instance running again needs EC2 (--aws), without contacting a cluster', async () => {
    const run = await runCli(['invoke', '--event', 'state-change-running', '--kubeconfig', '/nonexistent']);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/ignored: instance i-\w+ running again needs EC2 \(--aws\)/);
  });

  it('drains through EC2 tags and EKS with --aws, as the Lambda function does, with its logs off', async () => {
    const instance = await createInstance(bed.awsEndpoint, {
      clusterTagStyle: 'aws:eks:cluster-name',
      clusterName: bed.clusterName,
    });
    const node = await createSpotNode(admin.core, {
      instanceId: instance.instanceId,
      name: instance.privateDnsName,
      availabilityZone: instance.availabilityZone,
      extraLabels: { pool: `cli-${uniqueSuffix()}` },
    });

    const run = await runCli(
      ['invoke', '--aws', '--event', 'spot-interruption', '--instance', instance.instanceId],
      {
        env: {
          AWS_REGION: bed.region,
          AWS_ENDPOINT_URL: bed.awsEndpoint,
          AWS_ACCESS_KEY_ID: testCredentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: testCredentials.secretAccessKey,
          MANAGED_CLUSTERS: bed.clusterName,
        },
      },
    );

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`-> clusters ${bed.clusterName} through EC2 and EKS`);
    expect(run.stdout).toContain(`node ${node.name} of cluster ${bed.clusterName}`);
    expect(run.stdout).toContain('outcome: drained');
    // No Powertools JSON (logs or metrics) in the output.
    expect(run.stdout.split('\n').filter((line) => line.startsWith('{'))).toEqual([]);
  });

  it('exits 2 naming the missing variable when --aws lacks MANAGED_CLUSTERS', async () => {
    const run = await runCli(['invoke', '--aws', '--event', 'spot-interruption'], {
      env: { AWS_REGION: 'us-east-1' },
    });

    expect(run.code).toBe(2);
    expect(errorLine(run)).toMatch(/^eks-spot-drainer: error: MANAGED_CLUSTERS: is required/);
  });
});
