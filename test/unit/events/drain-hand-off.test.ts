import { describe, expect, it } from 'vitest';
import { handOffEvent } from '../../../src/events/drain-hand-off.js';
import { parseEvent } from '../../../src/events/parse-event.js';

const from = { invocationId: 'req-1', account: '123456789012', region: 'eu-west-1' };
const at = new Date('2026-12-02T10:00:00Z');

describe('a drain handed off', () => {
  it('is read back as it was sent: the cluster, the node, who sent it', () => {
    // Act
    const parsed = parseEvent(
      handOffEvent({ cluster: 'prod-a', node: 'ip-10-0-0-1.ec2.internal' }, from, at),
    );

    // Assess
    expect(parsed).toEqual({
      status: 'hand-off',
      eventId: expect.any(String),
      account: '123456789012',
      region: 'eu-west-1',
      cluster: 'prod-a',
      node: 'ip-10-0-0-1.ec2.internal',
      from: 'req-1',
    });
  });

  it('is invalid, naming the field, when the node or cluster is no name Kubernetes or EKS could give', () => {
    // Prepare
    const bad = [
      { cluster: 'prod-a', node: 'Not A Node' },
      { cluster: '../etc', node: 'ip-10-0-0-1.ec2.internal' },
      { cluster: 'prod-a', node: 'x'.repeat(254) },
    ];

    // Act
    const outcomes = bad.map((target) => parseEvent(handOffEvent(target, from, at)));

    // Assess
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('invalid');
      expect(outcome).toMatchObject({ reason: expect.stringMatching(/detail\.(node|cluster)/) });
    }
  });
});
