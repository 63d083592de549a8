import { describe, expect, it } from 'vitest';
import { podEventMessage } from '../../../src/drain/report.js';

const drain = {
  nodeName: 'ip-10-0-0-1.ec2.internal',
  notice: { kind: 'spot-interruption', eventId: 'e-123' },
  deadline: Date.parse('2026-12-02T17:00:00Z'),
};

describe('podEventMessage', () => {
  it('names the node, the notice, the deadline and the grace of an eviction', () => {
    // Act
    const message = podEventMessage({ how: 'evicted' }, drain, 25);

    // Assess
    expect(message).toBe(
      'Evicted: node ip-10-0-0-1.ec2.internal is drained for spot-interruption e-123 before 2026-12-02T17:00:00.000Z; grace period 25 s',
    );
  });

  it('names the budget a deletion at the deadline overrode', () => {
    // Act
    const message = podEventMessage({ how: 'force-deleted', pdb: 'web-pdb' }, drain, 1);

    // Assess
    expect(message).toMatch(/^Deleted at the deadline though PodDisruptionBudget web-pdb still protected it/);
    expect(message).toContain('for spot-interruption e-123');
  });

  it('leaves the notice out when the drain is told of none', () => {
    // Act
    const message = podEventMessage({ how: 'evicted' }, { ...drain, notice: undefined }, 30);

    // Assess
    expect(message).toBe(
      'Evicted: node ip-10-0-0-1.ec2.internal is drained before 2026-12-02T17:00:00.000Z; grace period 30 s',
    );
  });
});
