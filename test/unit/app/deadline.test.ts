import { describe, expect, it } from 'vitest';
import { drainDeadline, minimumDrainWindowMs } from '../../../src/app/deadline.js';
import { type InterruptionNotice, NoticeKind } from '../../../src/types.js';

const now = Date.parse('2025-06-05T07:00:10Z');
const budget = 600_000;

function notice(deadline: Date | undefined): InterruptionNotice {
  return {
    kind: NoticeKind.SpotInterruption,
    instanceId: 'i-0123456789abcdef0',
    region: 'us-east-1',
    account: '123456789012',
    eventId: 'e',
    eventTime: new Date('2025-06-05T07:00:00Z'),
    deadline,
  };
}

describe('drainDeadline', () => {
  const cases: { name: string; deadline: Date | undefined; invocationEnd: number; expected: number }[] = [
    {
      name: "keeps the notice's own deadline",
      deadline: new Date('2025-06-05T07:02:00Z'),
      invocationEnd: now + 900_000,
      expected: Date.parse('2025-06-05T07:02:00Z'),
    },
    {
      name: 'uses the budget when the notice sets no deadline',
      deadline: undefined,
      invocationEnd: now + 900_000,
      expected: now + budget,
    },
    {
      name: 'never ends after the invocation must return',
      deadline: new Date('2025-06-05T08:00:00Z'),
      invocationEnd: now + 30_000,
      expected: now + 30_000,
    },
    {
      name: 'caps the budget to the invocation too',
      deadline: undefined,
      invocationEnd: now + 60_000,
      expected: now + 60_000,
    },
    {
      name: 'gives a late notice the minimum window',
      deadline: new Date(now + 2_000),
      invocationEnd: now + 900_000,
      expected: now + minimumDrainWindowMs,
    },
    {
      name: 'gives a notice whose deadline passed the minimum window',
      deadline: new Date('2025-06-05T06:00:00Z'),
      invocationEnd: now + 900_000,
      expected: now + minimumDrainWindowMs,
    },
    {
      name: 'lets the invocation end win over the minimum window',
      deadline: new Date('2025-06-05T06:00:00Z'),
      invocationEnd: now + 4_000,
      expected: now + 4_000,
    },
  ];

  it.each(cases)('$name', ({ deadline, invocationEnd, expected }) => {
    // Act
    const end = drainDeadline(notice(deadline), now, budget, invocationEnd);

    // Assess
    expect(end).toBe(expected);
  });
});
