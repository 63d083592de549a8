import { describe, expect, it } from 'vitest';
import {
  type DrainLease,
  excludeFromLoadBalancersLabel,
  type LeaseRequest,
  leaseAnnotation,
  readLease,
  stateLabel,
} from '../../../src/drain/lease.js';
import { acquireLease, finishLease, markOutOfService, releaseNode } from '../../../src/drain/lease-store.js';
import { Action, NoticeKind } from '../../../src/types.js';
import { apiError, eksNode, fakeNodeApi } from '../../support/fake-kube.js';

const now = Date.parse('2025-06-05T07:00:30Z');
const eventId = '1e5527d7-bb36-4607-3370-4164db56a40e';
const nodeName = 'ip-10-0-0-1.ec2.internal';
const options = { taintNode: true, excludeFromLoadBalancers: true };
const hook = {
  autoScalingGroupName: 'workers',
  lifecycleHookName: 'drain',
  instanceId: 'i-0123456789abcdef0',
};

function request(change: Partial<LeaseRequest> = {}): LeaseRequest {
  return {
    eventId,
    kind: NoticeKind.SpotInterruption,
    action: Action.Drain,
    holder: 'request-b',
    deadline: Date.parse('2025-06-05T07:02:00Z'),
    ...change,
  };
}

function freshNode() {
  return fakeNodeApi([eksNode(nodeName, 'i-0123456789abcdef0')]);
}

describe('acquireLease', () => {
  it('starts from the node the lookup already read, without a GET', async () => {
    // Prepare
    const fake = freshNode();
    const known = await fake.core.readNode({ name: nodeName });
    fake.calls.length = 0;

    // Act
    const result = await acquireLease(fake.core, nodeName, request(), options, () => now, known);

    // Assess
    expect(result).toMatchObject({ acquired: true });
    expect(fake.calls.map((c) => c.method)).toEqual(['patchNode']);
  });

  it('reads the node again when the known copy turns out stale (409)', async () => {
    // Prepare
    const fake = freshNode();
    const known = await fake.core.readNode({ name: nodeName });
    await fake.core.patchNode({ name: nodeName, body: { metadata: { labels: { touched: 'yes' } } } });
    fake.calls.length = 0;

    // Act
    const result = await acquireLease(fake.core, nodeName, request(), options, () => now, known);

    // Assess
    expect(result).toMatchObject({ acquired: true });
    expect(fake.calls.map((c) => c.method)).toEqual(['patchNode', 'readNode', 'patchNode']);
  });

  it('cordons, taints, labels and annotates the node in one patch, noting what it added', async () => {
    // Prepare
    const fake = freshNode();

    // Act
    const result = await acquireLease(fake.core, nodeName, request(), options, () => now);

    // Assess
    expect(result).toMatchObject({ acquired: true, why: 'new' });
    expect(fake.calls.filter((c) => c.method === 'patchNode')).toHaveLength(1);
    const node = fake.nodes.get(nodeName)!;
    expect(node.spec?.unschedulable).toBe(true);
    expect(node.spec?.taints).toEqual([
      expect.objectContaining({
        key: 'eks-spot-drainer/spot-interruption',
        value: eventId,
        effect: 'NoSchedule',
      }),
    ]);
    expect(node.metadata?.labels?.[excludeFromLoadBalancersLabel]).toBe('true');
    expect(node.metadata?.labels?.[stateLabel]).toBe('draining');
    expect(readLease(node)).toEqual({
      v: 2,
      eventId,
      kind: 'spot-interruption',
      action: 'drain',
      state: 'draining',
      holder: 'request-b',
      renewedAt: '2025-06-05T07:00:30.000Z',
      deadline: '2025-06-05T07:02:00.000Z',
      since: '2025-06-05T07:00:30.000Z',
      updatedAt: '2025-06-05T07:00:30.000Z',
      marks: { cordoned: true, taints: ['eks-spot-drainer/spot-interruption'], lbLabel: true },
      hooks: [],
    });
  });

  it('notes that a node was already cordoned and labelled by someone else', async () => {
    // Prepare
    const node = eksNode(nodeName, 'i-0123456789abcdef0', {
      labels: { [excludeFromLoadBalancersLabel]: 'true' },
    });
    node.spec!.unschedulable = true;
    const fake = fakeNodeApi([node]);

    // Act
    const result = await acquireLease(fake.core, nodeName, request(), options, () => now);

    // Assess
    expect(result.acquired && result.lease.marks).toEqual({
      cordoned: false,
      taints: ['eks-spot-drainer/spot-interruption'],
      lbLabel: false,
    });
  });

  it('keeps other taints and sets neither taint nor label when switched off', async () => {
    // Prepare
    const node = eksNode(nodeName, 'i-0123456789abcdef0');
    node.spec!.taints = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }];
    const fake = fakeNodeApi([node]);

    // Act
    await acquireLease(fake.core, nodeName, request({ action: Action.Cordon }), {
      taintNode: false,
      excludeFromLoadBalancers: false,
    });

    // Assess
    const marked = fake.nodes.get(nodeName)!;
    expect(marked.spec?.taints).toEqual([{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]);
    expect(marked.metadata?.labels?.[excludeFromLoadBalancersLabel]).toBeUndefined();
    expect(readLease(marked)?.state).toBe('cordoned');
  });

  it('only records a scheduled change far ahead: no cordon, no taint', async () => {
    // Prepare
    const fake = freshNode();
    const scheduled = {
      eventArn: 'arn:aws:health:us-east-1::event/EC2/X/1',
      start: '2025-06-19T07:00:00.000Z',
      drainAt: '2025-06-19T06:30:00.000Z',
    };

    // Act
    const result = await acquireLease(
      fake.core,
      nodeName,
      request({ kind: NoticeKind.ScheduledChange, scheduled, recordOnly: { cordon: false } }),
      options,
      () => now,
    );

    // Assess
    expect(result).toMatchObject({ acquired: true, lease: { state: 'scheduled', scheduled } });
    const node = fake.nodes.get(nodeName)!;
    expect(node.spec?.unschedulable).toBeUndefined();
    expect(node.spec?.taints).toBeUndefined();
    expect(node.metadata?.labels?.[stateLabel]).toBe('scheduled');
  });

  it("amends a live lease held elsewhere with the notice's hook and earlier deadline", async () => {
    // Prepare
    const fake = freshNode();
    await acquireLease(
      fake.core,
      nodeName,
      request({ holder: 'a', deadline: now + 600_000 }),
      options,
      () => now,
    );

    // Act
    const result = await acquireLease(
      fake.core,
      nodeName,
      request({ eventId: 'asg', hook }),
      options,
      () => now,
    );

    // Assess
    expect(result).toMatchObject({ acquired: false, why: 'in-progress-elsewhere' });
    expect(readLease(fake.nodes.get(nodeName)!)).toMatchObject({
      holder: 'a',
      deadline: '2025-06-05T07:02:00.000Z',
      hooks: [hook],
    });
  });

  it('reads and decides again when another writer changed the node first', async () => {
    // Prepare: between our read and our patch, invocation A takes the lease.
    const fake = freshNode();
    const readNode = fake.core.readNode.bind(fake.core);
    let reads = 0;
    fake.core.readNode = (async (args: { name: string }) => {
      const node = await readNode(args);
      if (reads++ === 0) {
        await acquireLease(fake.core, nodeName, request({ holder: 'request-a' }), options, () => now);
      }
      return node;
    }) as typeof fake.core.readNode;

    // Act
    const result = await acquireLease(fake.core, nodeName, request(), options, () => now);

    // Assess
    expect(result).toMatchObject({
      acquired: false,
      why: 'in-progress-elsewhere',
      lease: { holder: 'request-a' },
    });
    expect(reads).toBe(3);
  });

  it('reports a node that is gone', async () => {
    // Act
    const result = await acquireLease(fakeNodeApi([]).core, nodeName, request(), options);

    // Assess
    expect(result).toEqual({ acquired: false, why: 'node-gone' });
  });

  it('throws what it cannot handle', async () => {
    // Prepare
    const fake = freshNode();
    fake.core.patchNode = (async () => {
      throw apiError(403, { reason: 'Forbidden', message: 'nodes is forbidden' });
    }) as typeof fake.core.patchNode;

    // Act
    const acquiring = acquireLease(fake.core, nodeName, request(), options);

    // Assess
    await expect(acquiring).rejects.toMatchObject({ code: 403 });
  });
});

describe('finishLease', () => {
  it('completes every hook on the lease before writing the end, and stops the renewals', async () => {
    // Prepare
    const fake = freshNode();
    await acquireLease(fake.core, nodeName, request({ hook }), options, () => now);
    const completed: unknown[] = [];

    // Act
    const result = await finishLease(
      fake.core,
      nodeName,
      'request-b',
      'drained',
      async (hooks) => {
        completed.push(...hooks);
        return hooks;
      },
      () => now + 1_000,
    );

    // Assess
    expect(completed).toEqual([hook]);
    expect(result).toMatchObject({ status: 'finished', completed: [hook] });
    const lease = readLease(fake.nodes.get(nodeName)!);
    expect(lease).toMatchObject({ state: 'drained', hooks: [], holder: 'request-b' });
    expect(lease?.renewedAt).toBeUndefined();
    expect(fake.nodes.get(nodeName)?.metadata?.labels?.[stateLabel]).toBe('drained');
  });

  it('leaves a hook it could not complete on the lease', async () => {
    // Prepare
    const fake = freshNode();
    await acquireLease(fake.core, nodeName, request({ hook }), options, () => now);

    // Act
    const result = await finishLease(
      fake.core,
      nodeName,
      'request-b',
      'drained',
      async () => [],
      () => now,
    );

    // Assess
    expect(result).toMatchObject({ status: 'finished', completed: [] });
    expect(readLease(fake.nodes.get(nodeName)!)?.hooks).toEqual([hook]);
  });

  it('completes a hook recorded between its read and its write too', async () => {
    // Prepare: while the first hook is being completed, an asg-terminate notice records its own.
    const fake = freshNode();
    await acquireLease(fake.core, nodeName, request({ hook }), options, () => now);
    const second = { ...hook, lifecycleHookName: 'second' };
    const completed: unknown[] = [];
    let first = true;

    // Act
    await finishLease(
      fake.core,
      nodeName,
      'request-b',
      'drained',
      async (hooks) => {
        if (first) {
          first = false;
          await acquireLease(
            fake.core,
            nodeName,
            request({ eventId: 'asg', holder: 'c', hook: second }),
            options,
            () => now,
          );
        }
        completed.push(...hooks);
        return hooks;
      },
      () => now,
    );

    // Assess
    expect(completed).toEqual([hook, second]);
    expect(readLease(fake.nodes.get(nodeName)!)?.hooks).toEqual([]);
  });

  it('writes nothing when the lease was taken over', async () => {
    // Prepare
    const fake = freshNode();
    await acquireLease(fake.core, nodeName, request({ holder: 'new-holder' }), options, () => now);

    // Act
    const result = await finishLease(
      fake.core,
      nodeName,
      'old-holder',
      'drained',
      async () => [],
      () => now,
    );

    // Assess
    expect(result.status).toBe('lost');
    expect(readLease(fake.nodes.get(nodeName)!)).toMatchObject({ state: 'draining', holder: 'new-holder' });
  });
});

describe('releaseNode', () => {
  it('removes exactly the marks this project added', async () => {
    // Prepare
    const node = eksNode(nodeName, 'i-0123456789abcdef0', {
      labels: { team: 'a' },
      annotations: { keep: 'me' },
    });
    node.spec!.taints = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }];
    const fake = fakeNodeApi([node]);
    await acquireLease(fake.core, nodeName, request({ action: Action.Cordon }), options, () => now);

    // Act
    const result = await releaseNode(fake.core, nodeName, () => true);

    // Assess
    expect(result).toBe('released');
    const released = fake.nodes.get(nodeName)!;
    expect(released.spec?.unschedulable).toBeUndefined();
    expect(released.spec?.taints).toEqual([{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]);
    expect(released.metadata?.labels).toEqual(node.metadata?.labels);
    expect(released.metadata?.annotations).toEqual({ keep: 'me' });
  });

  it('never uncordons a node that was unschedulable before, nor drops a label it did not add', async () => {
    // Prepare
    const node = eksNode(nodeName, 'i-0123456789abcdef0', {
      labels: { [excludeFromLoadBalancersLabel]: 'true' },
    });
    node.spec!.unschedulable = true;
    const fake = fakeNodeApi([node]);
    await acquireLease(fake.core, nodeName, request({ action: Action.Cordon }), options, () => now);

    // Act
    await releaseNode(fake.core, nodeName, () => true);

    // Assess
    const released = fake.nodes.get(nodeName)!;
    expect(released.spec?.unschedulable).toBe(true);
    expect(released.metadata?.labels?.[excludeFromLoadBalancersLabel]).toBe('true');
    expect(released.spec?.taints).toEqual([]);
    expect(released.metadata?.annotations?.[leaseAnnotation]).toBeUndefined();
  });

  it('leaves the node alone when the lease changed since the decision', async () => {
    // Prepare
    const fake = freshNode();
    await acquireLease(fake.core, nodeName, request({ action: Action.Cordon }), options, () => now);

    // Act
    const result = await releaseNode(fake.core, nodeName, (lease: DrainLease) => lease.eventId === 'other');

    // Assess
    expect(result).toBe('not-ours');
    expect(fake.nodes.get(nodeName)?.spec?.unschedulable).toBe(true);
  });
});

describe('markOutOfService', () => {
  it('taints the node out of service, cordons it and ends a drain in progress', async () => {
    // Prepare
    const fake = freshNode();
    await acquireLease(fake.core, nodeName, request(), options, () => now);

    // Act
    const result = await markOutOfService(
      fake.core,
      nodeName,
      { eventId: 'terminated', kind: NoticeKind.StateChange, deadline: now },
      options,
      () => now,
    );

    // Assess
    expect(result.status).toBe('tainted');
    const node = fake.nodes.get(nodeName)!;
    expect(node.spec?.taints).toContainEqual(
      expect.objectContaining({
        key: 'node.kubernetes.io/out-of-service',
        value: 'nodeshutdown',
        effect: 'NoExecute',
      }),
    );
    const lease = readLease(node);
    expect(lease).toMatchObject({ state: 'out-of-service' });
    expect(lease?.holder).toBeUndefined();
    expect(lease?.marks.taints).toContain('node.kubernetes.io/out-of-service');
  });

  it('does it once', async () => {
    // Prepare
    const fake = freshNode();
    const mark = () =>
      markOutOfService(
        fake.core,
        nodeName,
        { eventId: 'x', kind: NoticeKind.StateChange, deadline: now },
        options,
      );
    await mark();

    // Act
    const again = await mark();

    // Assess
    expect(again.status).toBe('already');
  });
});
