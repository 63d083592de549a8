import { describe, expect, it } from 'vitest';
import { type InterruptionRecord, parseRecord, serialiseRecord } from '../../../src/interruption/record.js';

const at = '2026-06-01T00:00:00.000Z';
const later = '2026-06-01T00:02:00.000Z';

const v3: InterruptionRecord = {
  v: 3,
  state: 'draining',
  reasons: [
    {
      kind: 'spot-interruption',
      action: 'drain',
      eventId: 'e-1',
      detail: 'stop',
      at,
      bootId: 'b-1',
      deadline: later,
    },
  ],
  deadline: later,
  holder: 'request-1',
  renewedAt: at,
  since: at,
  updatedAt: at,
  marks: { cordoned: true, taints: ['eks-spot-drainer/spot-interruption'], lbLabel: true, bootId: 'b-1' },
  hooks: [{ autoScalingGroupName: 'workers', lifecycleHookName: 'drain', instanceId: 'i-0123456789abcdef0' }],
};

describe('parseRecord', () => {
  it('reads back what serialiseRecord writes', () => {
    // Act
    const read = parseRecord(serialiseRecord(v3));

    // Assess
    expect(read).toEqual(v3);
  });

  it.each<[string, string | undefined]>([
    ['no annotation', undefined],
    ['an empty one', ''],
    ['not JSON', '{"v":3,'],
    ['JSON of another shape', '{"hello":"world"}'],
    ['a state this project never writes', JSON.stringify({ ...v3, state: 'exploded' })],
    [
      'a kind this project never writes',
      JSON.stringify({ ...v3, reasons: [{ ...v3.reasons[0], kind: 'meteor' }] }),
    ],
    ['a time that is no time', JSON.stringify({ ...v3, deadline: 'tomorrow' })],
    ['seventeen hooks', JSON.stringify({ ...v3, hooks: Array.from({ length: 17 }, () => v3.hooks[0]) })],
    ['an id longer than any AWS gives', JSON.stringify({ ...v3, holder: 'x'.repeat(300) })],
    ['a record of 64 KB', JSON.stringify({ ...v3, pad: 'x'.repeat(64_000) })],
  ])('takes %s for no record', (_, raw) => {
    // Act
    const read = parseRecord(raw);

    // Assess
    expect(read).toBeUndefined();
  });

  it('migrates a version 2 record: its notice becomes a reason, and its Health change beside it another', () => {
    // Prepare: a Spot warning took over a node with a Health change recorded (version 2 kept it aside).
    const v2 = {
      v: 2,
      state: 'drained',
      kind: 'spot-interruption',
      action: 'drain',
      eventId: 'spot-1',
      detail: 'hibernate',
      deadline: later,
      since: at,
      updatedAt: at,
      scheduled: { eventArn: 'arn:aws:health:x', start: later, drainAt: at },
      marks: {
        cordoned: true,
        taints: ['eks-spot-drainer/spot-interruption'],
        lbLabel: false,
        bootId: 'b-1',
      },
      hooks: [],
    };

    // Act
    const read = parseRecord(JSON.stringify(v2));

    // Assess
    expect(read).toEqual({
      v: 3,
      state: 'drained',
      reasons: [
        {
          kind: 'spot-interruption',
          action: 'drain',
          eventId: 'spot-1',
          detail: 'hibernate',
          at,
          bootId: 'b-1',
          deadline: later,
        },
        {
          kind: 'scheduled-change',
          action: 'drain',
          eventId: 'arn:aws:health:x',
          at,
          bootId: 'b-1',
          deadline: later,
          scheduled: { eventArn: 'arn:aws:health:x', start: later, drainAt: at },
        },
      ],
      deadline: later,
      since: at,
      updatedAt: at,
      marks: v2.marks,
      hooks: [],
      hibernation: true,
      legacy: true,
    });
  });

  it('drops a version 2 Health change that Health closed: it holds the node no more', () => {
    // Prepare
    const v2 = {
      v: 2,
      state: 'drained',
      kind: 'scheduled-change',
      action: 'drain',
      eventId: 'health-1',
      deadline: later,
      since: at,
      updatedAt: at,
      scheduled: { eventArn: 'arn:aws:health:x', start: later, drainAt: at, closed: true },
      marks: { cordoned: true, taints: [], lbLabel: false },
      hooks: [],
    };

    // Act
    const read = parseRecord(JSON.stringify(v2));

    // Assess
    expect(read?.reasons).toEqual([]);
  });

  it("migrates a version 1 record as what it implies: schedulable before, only this project's taint", () => {
    // Prepare
    const v1 = {
      eventId: 'old',
      kind: 'rebalance-recommendation',
      state: 'draining',
      holder: 'dead',
      updatedAt: at,
    };

    // Act
    const read = parseRecord(JSON.stringify(v1));

    // Assess
    expect(read).toMatchObject({
      v: 3,
      state: 'draining',
      holder: 'dead',
      renewedAt: at,
      reasons: [{ kind: 'rebalance-recommendation', action: 'drain', eventId: 'old' }],
      marks: { cordoned: true, taints: ['eks-spot-drainer/rebalance-recommendation'], lbLabel: true },
      legacy: true,
    });
  });
});
