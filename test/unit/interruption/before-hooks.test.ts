import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it, vi } from 'vitest';
import { defaultDrainOptions } from '../../../src/drain/options.js';
import { completionReserveMs, volumesBeforeHooks } from '../../../src/interruption/before-hooks.js';
import type { CarryOutContext } from '../../../src/interruption/carry-out.js';
import { type InterruptionRecord, RecordState } from '../../../src/interruption/record.js';
import type { NodeEventRecorder } from '../../../src/kube/node-events.js';

const now = Date.parse('2026-12-02T12:00:00Z');

function recordIn(state: RecordState, deadline = now + 60_000): InterruptionRecord {
  const iso = new Date(now).toISOString();
  return {
    v: 3,
    state,
    reasons: [],
    deadline: new Date(deadline).toISOString(),
    since: iso,
    updatedAt: iso,
    marks: { cordoned: true, taints: [], lbLabel: false },
    hooks: [],
  };
}

/** A context whose clock jumps 2.5 s at each list, and a node with one volume that never goes. */
function setup(change: { dryRun?: boolean; deadline?: number; invocationDeadline?: number } = {}) {
  let clock = now;
  const listVolumeAttachment = vi.fn(async () => {
    clock += 2_500;
    return {
      items: [{ metadata: { name: 'csi-1' }, spec: { attacher: 'x', nodeName: 'node-1', source: {} } }],
    };
  });
  const ctx = {
    apis: { storage: { listVolumeAttachment } as unknown as k8s.StorageV1Api },
    drain: { ...defaultDrainOptions, dryRun: change.dryRun ?? false },
    deadline: change.deadline ?? now + 10_000,
    ...(change.invocationDeadline ? { invocationDeadline: change.invocationDeadline } : {}),
    now: () => clock,
  } as unknown as CarryOutContext;
  const events = { record: vi.fn() } as unknown as NodeEventRecorder & { record: ReturnType<typeof vi.fn> };
  return { ctx, events, listVolumeAttachment, elapsed: () => clock - now };
}

describe('volumesBeforeHooks', () => {
  it.each([RecordState.Drained, RecordState.DeadlineReached, RecordState.Incomplete])(
    'waits for the volumes of a node whose drain ended (%s), to the bound',
    async (state) => {
      // Prepare
      const s = setup();

      // Act
      const attached = await volumesBeforeHooks('node-1', recordIn(state, now + 5_000), s.ctx, s.events);

      // Assess: the drain's deadline, less the completion's reserve
      expect(attached).toEqual(['csi-1']);
      expect(s.elapsed()).toBeGreaterThanOrEqual(5_000 - completionReserveMs);
      expect(s.events.record).toHaveBeenCalledWith(
        'VolumesStillAttached',
        expect.stringContaining('csi-1'),
        'Warning',
      );
    },
  );

  it.each([
    RecordState.Scheduled,
    RecordState.Waiting,
    RecordState.Cordoned,
    RecordState.Draining,
    RecordState.Failed,
    RecordState.OutOfService,
  ])('does not wait for a node in %s (a release, a machine gone, a hook with no drain)', async (state) => {
    // Prepare
    const s = setup();

    // Act
    const attached = await volumesBeforeHooks('node-1', recordIn(state), s.ctx, s.events);

    // Assess
    expect(attached).toEqual([]);
    expect(s.listVolumeAttachment).not.toHaveBeenCalled();
  });

  it('does not wait in a dry run (nothing was evicted, nothing detaches)', async () => {
    // Prepare
    const s = setup({ dryRun: true });

    // Act
    const attached = await volumesBeforeHooks('node-1', recordIn(RecordState.Drained), s.ctx, s.events);

    // Assess
    expect(attached).toEqual([]);
    expect(s.listVolumeAttachment).not.toHaveBeenCalled();
  });

  it("ends before the invocation's own end, where the drain's end stretched the context's deadline", async () => {
    // Prepare
    const s = setup({ deadline: now + 60_000, invocationDeadline: now + 4_000 });

    // Act
    await volumesBeforeHooks('node-1', recordIn(RecordState.Drained, now + 60_000), s.ctx, s.events);

    // Assess
    expect(s.elapsed()).toBeLessThanOrEqual(4_000 - completionReserveMs + 1_000);
  });
});
