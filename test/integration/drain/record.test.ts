import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordOn } from '../../../src/interruption/record.js';
import { Action, NoticeKind } from '../../../src/types.js';
import { waitFor, waitForReadyPods } from '../../bed/kube.js';
import { createDeployment } from '../../bed/workloads.js';
import { createScenario, type Scenario } from './scenario.js';

describe("the node's interruption record", () => {
  let s: Scenario;
  beforeEach(async () => {
    s = await createScenario('lease');
  });
  afterEach(() => s.close());

  it('turns three concurrent deliveries of one event into one drain', async () => {
    const node = await s.addNode();
    await createDeployment(s.admin, s.namespace, 'web', 3, { pool: s.pool, gracePeriodSeconds: 1 });
    await waitForReadyPods(s.admin.core, s.namespace, 'app=web', 3);
    const eventId = randomUUID();

    const results = await Promise.all(
      ['a', 'b', 'c'].map((holder) => s.drain(node, { eventId, holder: `invocation-${holder}` })),
    );

    const outcomes = results.map((r) => r.outcome).sort();
    expect(outcomes.filter((o) => o === 'drained')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'in-progress-elsewhere' || o === 'already-done')).toHaveLength(2);
    const evictions = results.flatMap((r) => r.pods).filter((p) => p.outcome === 'evicted');
    expect(evictions).toHaveLength(3);
    const events = await s.nodeEvents(node);
    expect(events.filter((e) => e === 'Drain')).toHaveLength(1);
    expect((await s.podsOn(node)).length).toBe(0);
  });

  it('records a second notice under a live drain and returns while the holder still drains', async () => {
    // Prepare: an Auto Scaling hook's drain of pods that take 10 s to go.
    const node = await s.addNode();
    await createDeployment(s.admin, s.namespace, 'slow', 2, {
      pool: s.pool,
      gracePeriodSeconds: 10,
      ignoreSigterm: true,
    });
    await waitForReadyPods(s.admin.core, s.namespace, 'app=slow', 2);
    const hook = (name: string) => ({
      autoScalingGroupName: 'workers',
      lifecycleHookName: name,
      instanceId: node.instanceId,
    });
    const asg = { kind: NoticeKind.AsgTerminate, deadline: Date.now() + 600_000 };
    let holderDone = false;
    const holder = s.drain(node, { ...asg, holder: 'holder', hook: hook('first') }).finally(() => {
      holderDone = true;
    });
    await waitFor('the holder draining', async () =>
      (await s.podsOn(node)).every((p) => p.metadata?.deletionTimestamp),
    );

    // Act: a second hook's notice, whose drain may end no sooner than the holder's.
    const second = await s.drain(node, { ...asg, deadline: asg.deadline + 60_000, hook: hook('second') });
    const returnedWhileDraining = !holderDone;
    const recorded = recordOn(await s.admin.core.readNode({ name: node.name }));

    // Assess: it returned at once, its hook left to the holder, which then drained the node.
    expect(second).toMatchObject({ outcome: 'in-progress-elsewhere', holder: 'holder' });
    expect(returnedWhileDraining).toBe(true);
    expect(recorded?.hooks?.map((h) => h.lifecycleHookName).sort()).toEqual(['first', 'second']);
    expect(await holder).toMatchObject({ outcome: 'drained' });
  });

  it('upgrades a rebalance cordon to a drain when the interruption follows', async () => {
    const node = await s.addNode();
    await createDeployment(s.admin, s.namespace, 'web', 2, { pool: s.pool, gracePeriodSeconds: 1 });
    await waitForReadyPods(s.admin.core, s.namespace, 'app=web', 2);

    const rebalance = await s.drain(node, {
      kind: NoticeKind.RebalanceRecommendation,
      action: Action.Cordon,
    });
    const cordoned = await s.admin.core.readNode({ name: node.name });
    const podsAfterCordon = await s.podsOn(node);
    const interruption = await s.drain(node, { kind: NoticeKind.SpotInterruption, action: Action.Drain });
    const rebalanceAgain = await s.drain(node, {
      kind: NoticeKind.RebalanceRecommendation,
      action: Action.Cordon,
    });

    expect(rebalance.outcome).toBe('cordoned');
    expect(cordoned.spec?.unschedulable).toBe(true);
    expect(recordOn(cordoned)).toMatchObject({
      state: 'cordoned',
      reasons: [expect.objectContaining({ action: 'cordon' })],
    });
    expect(podsAfterCordon).toHaveLength(2);
    expect(interruption.outcome).toBe('drained');
    expect(interruption.counts.evicted).toBe(2);
    expect(rebalanceAgain.outcome).toBe('already-done');
    const final = await s.admin.core.readNode({ name: node.name });
    expect(recordOn(final)).toMatchObject({
      state: 'drained',
      reasons: [
        expect.objectContaining({ kind: 'spot-interruption', action: 'drain' }),
        expect.objectContaining({ kind: 'rebalance-recommendation', action: 'cordon' }),
        expect.objectContaining({ kind: 'rebalance-recommendation', action: 'cordon' }),
      ],
    });
    expect(
      final.spec?.taints
        ?.map((t) => t.key)
        .filter((k) => k.startsWith('eks-spot-drainer/'))
        .sort(),
    ).toEqual(['eks-spot-drainer/rebalance-recommendation', 'eks-spot-drainer/spot-interruption']);
    expect(await s.podsOn(node)).toHaveLength(0);
  });

  it('lets a new invocation take over a record whose holder is past its deadline', async () => {
    const node = await s.addNode();
    await createDeployment(s.admin, s.namespace, 'web', 1, { pool: s.pool, gracePeriodSeconds: 1 });
    await waitForReadyPods(s.admin.core, s.namespace, 'app=web', 1);
    // A holder that died mid-drain (a record of the first version): it says "draining" since long ago.
    await s.admin.core.patchNode({
      name: node.name,
      body: [
        {
          op: 'add',
          path: '/metadata/annotations/eks-spot-drainer~1drain',
          value: JSON.stringify({
            eventId: 'old',
            kind: 'spot-interruption',
            action: 'drain',
            state: 'draining',
            holder: 'dead-invocation',
            deadline: new Date(Date.now() - 120_000).toISOString(),
            expiresAt: new Date(Date.now() - 90_000).toISOString(),
            updatedAt: new Date(Date.now() - 150_000).toISOString(),
          }),
        },
      ],
    });

    const result = await s.drain(node, { holder: 'new-invocation' });

    expect(result.outcome).toBe('drained');
    expect(recordOn(await s.admin.core.readNode({ name: node.name }))).toMatchObject({
      holder: 'new-invocation',
      state: 'drained',
    });
  });
});
