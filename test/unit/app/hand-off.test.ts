import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { continueBySelfInvoke, notifyDrainsEnded } from '../../../src/app/hand-off.js';
import type { ClusterReconcileReport } from '../../../src/app/reconcile-all.js';
import { countOutcomes, noTimings } from '../../../src/drain/result.js';
import { parseEvent } from '../../../src/events/parse-event.js';
import type { DrainInfo, DrainSummary, Notifier } from '../../../src/notify/types.js';

const now = Date.parse('2026-12-02T10:00:00Z');
const invocation = {
  id: 'req-1',
  deadline: now + 20_000,
  account: '123456789012',
  region: 'eu-west-1',
  qualifier: 'provisioned',
};

describe('continueBySelfInvoke', () => {
  it('invokes the alias the holder came by with an event naming the node, within a few seconds', async () => {
    // Prepare
    const sent: { event: unknown; call: { deadline: number; qualifier?: string } }[] = [];
    const continueDrain = continueBySelfInvoke(
      async (event, call) => void sent.push({ event, call }),
      'us-east-1',
      () => now,
    );

    // Act
    await continueDrain({ cluster: 'prod-a', node: 'ip-10-0-0-1.ec2.internal' }, invocation);

    // Assess
    expect(sent).toHaveLength(1);
    expect(sent[0]!.call).toEqual({ deadline: now + 5_000, qualifier: 'provisioned' });
    expect(parseEvent(sent[0]!.event)).toMatchObject({
      status: 'hand-off',
      account: '123456789012',
      region: 'eu-west-1',
      cluster: 'prod-a',
      node: 'ip-10-0-0-1.ec2.internal',
      from: 'req-1',
    });
  });
});

describe('notifyDrainsEnded', () => {
  it("sends the webhook's 'drain finished' for a drain a hand-off ended, and nothing for one handed on again", async () => {
    // Prepare
    const finished: [DrainInfo, DrainSummary][] = [];
    const notifier: Notifier = {
      drainStarted: async () => ({ status: 'disabled' }),
      drainFinished: async (info, summary) => {
        finished.push([info, summary]);
        return { status: 'disabled' };
      },
    };
    const drain = { outcome: 'drained' as const, pods: [], counts: countOutcomes([]), timings: noTimings() };
    const node = (name: string, outcome: 'ended' | 'handed-off') => ({
      node: name,
      instanceId: `i-0${name}`,
      state: 'draining',
      heldBy: { kind: 'asg-terminate' as const, eventId: 'ev-1', action: 'drain' as const },
      step: 'drain' as const,
      why: 'taken over',
      report: {
        nodeName: name,
        node: outcome,
        why: '',
        drain,
        deadline: now + 60_000,
        hooksCompleted: [],
        hooksFailed: [],
        hooksPending: [],
      },
    });
    const reports: ClusterReconcileReport[] = [
      { cluster: 'prod-a', nodes: [node('a', 'ended'), node('b', 'handed-off')] },
    ];

    // Act
    await notifyDrainsEnded(reports, { notifier, logger: new Logger({ logLevel: 'SILENT' }) }, now);

    // Assess
    expect(finished).toEqual([
      [
        {
          clusterName: 'prod-a',
          nodeName: 'a',
          instanceId: 'i-0a',
          kind: 'asg-terminate',
          eventId: 'ev-1',
          deadline: new Date(now + 60_000),
        },
        {
          outcome: 'drained',
          evicted: 0,
          skipped: 0,
          blocked: 0,
          failed: 0,
          durationMs: 0,
          timeLeftMs: 60_000,
        },
      ],
    ]);
  });
});
