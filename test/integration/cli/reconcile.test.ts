import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cordonVouchLabel } from '../../../src/interruption/marks.js';
import { recordOn, stateLabel } from '../../../src/interruption/record.js';
import { setBootId } from '../../bed/instance-life.js';
import { adminClients, createSpotNode, type SpotNode, uniqueSuffix } from '../../bed/kube.js';
import { runCli } from './run-cli.js';

const bed = inject('testbed');
const admin = adminClients(bed.cluster);
let pool: string;
let closed: SpotNode;
let abandoned: SpotNode;

/**
 * A record as the previous version of this project wrote it (version 2), with its taint (the event id
 * as its value) and the state label the reconcile selects marked nodes by.
 */
async function mark(node: SpotNode, lease: Record<string, unknown>): Promise<void> {
  const taint = { key: `eks-spot-drainer/${lease.kind}`, value: lease.eventId, effect: 'NoSchedule' };
  await admin.core.patchNode({
    name: node.name,
    body: [
      { op: 'add', path: '/spec/unschedulable', value: true },
      { op: 'add', path: '/spec/taints', value: [taint] },
      {
        op: 'add',
        path: '/metadata/annotations/eks-spot-drainer~1drain',
        value: JSON.stringify({ ...lease, marks: { ...base.marks, taints: [taint.key] } }),
      },
      { op: 'add', path: `/metadata/labels/${stateLabel.replace('/', '~1')}`, value: lease.state },
      // The cordon's own label, which the fence (deploy/node-fence.yaml) needs to let the drainer lift it.
      { op: 'add', path: `/metadata/labels/${cordonVouchLabel.replace('/', '~1')}`, value: 'true' },
    ],
  });
}

const longAgo = new Date(Date.now() - 3_600_000).toISOString();
const base = {
  v: 2,
  action: 'drain',
  deadline: new Date(Date.now() + 600_000).toISOString(),
  since: longAgo,
  updatedAt: longAgo,
  marks: { cordoned: true, taints: [], lbLabel: false, bootId: 'cli-boot' },
  hooks: [],
};

beforeAll(async () => {
  pool = `cli-reconcile-${uniqueSuffix()}`;
  closed = await createSpotNode(admin.core, { extraLabels: { pool } });
  abandoned = await createSpotNode(admin.core, { extraLabels: { pool } });
  // The machines have not booted since they were marked: their kubelets report the boot id recorded.
  for (const node of [closed, abandoned]) await setBootId(admin.core, node.name, 'cli-boot');
  // A Health change that Health closed; a drain whose holder stopped renewing an hour ago.
  await mark(closed, {
    ...base,
    state: 'drained',
    kind: 'scheduled-change',
    eventId: 'health-1',
    scheduled: {
      eventArn: 'arn:aws:health:us-east-1::event/EC2/X/cli',
      start: longAgo,
      drainAt: longAgo,
      closed: true,
    },
  });
  await mark(abandoned, {
    ...base,
    state: 'draining',
    kind: 'rebalance-recommendation',
    eventId: 'rebalance-1',
    holder: 'gone-invocation',
    renewedAt: longAgo,
  });
});
afterAll(async () => {
  for (const node of [closed, abandoned]) await admin.core.deleteNode({ name: node.name }).catch(() => {});
});

describe('eks-spot-drainer reconcile', () => {
  const args = () => [
    'reconcile',
    '--kubeconfig',
    bed.cluster.kubeconfigPaths.drainer,
    '--selector',
    `pool=${pool}`,
  ];

  it('shows with --dry-run what it would do to each marked node, and why, changing nothing', async () => {
    // Act
    const run = await runCli([...args(), '--dry-run']);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('dry run: nothing will change');
    expect(run.stdout).toContain('(no EC2: steps that need it wait)');
    expect(run.stdout).toMatch(
      new RegExp(`${closed.name} +${closed.instanceId} +drained +release +nothing holds the node any more`),
    );
    expect(run.stdout).toMatch(
      new RegExp(
        `${abandoned.name} +${abandoned.instanceId} +draining +drain +taken over from gone-invocation`,
      ),
    );
    expect(recordOn(await admin.core.readNode({ name: closed.name }))?.state).toBe('drained');
    expect(recordOn(await admin.core.readNode({ name: abandoned.name }))?.holder).toBe('gone-invocation');
  });

  it('releases the closed change and finishes the abandoned drain', async () => {
    // Act
    const run = await runCli(args());

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`${closed.name} .*release .*released`));
    expect(run.stdout).toMatch(new RegExp(`${abandoned.name} .*drain .*drained`));
    const released = await admin.core.readNode({ name: closed.name });
    expect(released.spec?.unschedulable).toBeFalsy();
    expect(recordOn(released)).toBeUndefined();
    expect(recordOn(await admin.core.readNode({ name: abandoned.name }))).toMatchObject({
      state: 'drained',
      holder: expect.stringMatching(/^cli-/),
    });
  });

  it('documents itself', async () => {
    // Act
    const run = await runCli(['reconcile', '--help']);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--dry-run');
    expect(run.stdout).toContain('--selector');
  });
});
