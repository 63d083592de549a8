/**
 * Real AWS event samples, written by others (test/fixtures/events/real/README.md names each source),
 * through parseEvent: first as they are, then localized the way the deploy test routes them (our
 * account, region, instance and time). A sample that cannot parse as published says why here.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../../src/events/index.js';
import type { ParseOutcome } from '../../../src/types.js';
import {
  loadRealSample,
  localizeSample,
  type RealSample,
  realSampleDir,
  realSamples,
} from '../../support/real-samples.js';

const locale = {
  account: '210987654321',
  region: 'eu-west-1',
  instanceIds: ['i-0fedcba9876543210'],
  now: new Date('2025-06-05T07:00:00Z'),
};

/** What parseEvent must make of a sample: its notices (kind, instance, deadline) or why there are none. */
type Expected =
  | { notices: { kind: string; instanceId: string; deadline?: string; account: string; region: string }[] }
  | { status: Exclude<ParseOutcome['status'], 'notices'>; reason?: string };

const notice = (kind: string, instanceId: string, account: string, region: string, deadline?: string) => ({
  notices: [{ kind, instanceId, account, region, ...(deadline ? { deadline } : {}) }],
});
const ours = (kind: string, deadline?: string) =>
  notice(kind, locale.instanceIds[0]!, locale.account, locale.region, deadline);
const invalid = (reason: string) => ({ status: 'invalid' as const, reason });
const pending = { status: 'ignored' as const, reason: 'instance state "pending" needs no action' };
const placeholderTime = invalid('event.time: expected an ISO 8601 time');
const in2Minutes = '2025-06-05T07:02:00.000Z';

const expected: Record<string, { asPublished: Expected; localized: Expected }> = {
  'aws-docs/spot-instance-interruption-warning.json': {
    asPublished: placeholderTime,
    // The documented "instance-action": "action" is a placeholder for terminate, stop or hibernate.
    localized: invalid('detail.instance-action: expected terminate, stop or hibernate'),
  },
  'aws-docs/instance-rebalance-recommendation.json': {
    asPublished: placeholderTime,
    localized: ours('rebalance-recommendation'),
  },
  'aws-docs/instance-state-change-pending.json': { asPublished: pending, localized: pending },
  'aws-docs/instance-terminate-lifecycle-action.json': {
    asPublished: placeholderTime,
    localized: ours('asg-terminate'),
  },
  'aws-docs/instance-terminate-lifecycle-action-warm-pool.json': {
    asPublished: notice('asg-terminate', 'i-1234567890abcdef0', '123456789012', 'us-west-2'),
    localized: ours('asg-terminate'),
  },
  'aws-docs/capacity-reservation-instance-interruption-warning.json': {
    asPublished: invalid('event.account: expected 12 digits'),
    // instance-termination-time is a placeholder too: the deadline falls back to time + 2 minutes.
    localized: ours('capacity-reservation-interruption', in2Minutes),
  },
  'aws-docs/capacity-block-instance-interruption-warning.json': {
    asPublished: invalid('event.detail-type: expected a string'),
    localized: invalid('event.detail-type: expected a string'),
  },
  'nth/spot-itn-event.json': {
    asPublished: notice(
      'spot-interruption',
      'i-0b662ef9931388ba0',
      '123456789012',
      'us-east-1',
      '1970-01-01T00:02:00.000Z',
    ),
    localized: ours('spot-interruption', in2Minutes),
  },
  'nth/rebalance-recommendation-event.json': {
    asPublished: notice('rebalance-recommendation', 'i-0b662ef9931388ba0', '123456789012', 'us-east-1'),
    localized: ours('rebalance-recommendation'),
  },
  'nth/ec2-state-change-event.json': { asPublished: pending, localized: pending },
  'nth/scheduled-change-event.json': {
    asPublished: invalid('event.account: expected 12 digits'),
    // startTime is 8 h 42 min 12 s after the event time, and stays so.
    localized: ours('scheduled-change', '2025-06-05T15:42:12.000Z'),
  },
  'nth/asg-lifecycle-event.json': {
    asPublished: notice('asg-terminate', 'i-0633ac2b0d9769723', '123456789012', 'us-east-1'),
    localized: ours('asg-terminate'),
  },
  'aws-lambda-go/autoscaling-event-terminate-action.json': {
    asPublished: notice('asg-terminate', 'i-1234567890abcdef0', '123456789012', 'us-west-2'),
    localized: ours('asg-terminate'),
  },
  'powertools-python/eventBridgeEvent.json': {
    asPublished: invalid('detail.instance-id: expected an EC2 instance id string'),
    localized: invalid('detail.instance-id: expected an EC2 instance id string'),
  },
};

/** The parts of an outcome the table names: every notice's kind, instance, deadline, account, region. */
function summary(outcome: ParseOutcome): Expected {
  if (outcome.status !== 'notices') {
    return { status: outcome.status, ...('reason' in outcome ? { reason: outcome.reason } : {}) };
  }
  return {
    notices: outcome.notices.map((n) => ({
      kind: n.kind,
      instanceId: n.instanceId,
      account: n.account,
      region: n.region,
      ...(n.deadline ? { deadline: n.deadline.toISOString() } : {}),
    })),
  };
}

describe('real AWS event samples', () => {
  it('lists every sample file, with its expectations', () => {
    // Prepare
    const onDisk = readdirSync(realSampleDir(), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.json'))
      .sort();

    // Assess
    expect(realSamples.map((s) => s.file).sort()).toEqual(onDisk);
    expect(Object.keys(expected).sort()).toEqual(onDisk);
  });

  describe.each(realSamples.map((s) => [s.file, s] as [string, RealSample]))('%s', (file, sample) => {
    it('parses as published to its notices, or says why not', () => {
      // Act
      const outcome = parseEvent(loadRealSample(file));

      // Assess
      expect(summary(outcome)).toEqual(expected[file]?.asPublished);
    });

    it('parses in our account and region, about our instance, now', () => {
      // Prepare
      const event = localizeSample(sample, loadRealSample(file), locale);

      // Act
      const outcome = parseEvent(event);

      // Assess
      expect(summary(outcome)).toEqual(expected[file]?.localized);
      expect(event.time).toBe('2025-06-05T07:00:00Z');
      if (outcome.status === 'notices') {
        expect(sample.outcome).not.toBe('untouched');
        expect(outcome.notices.map((n) => n.kind)).toEqual([sample.kind]);
        expect(outcome.notices[0]?.lifecycleAction).toEqual(
          sample.lifecycle
            ? { ...sample.lifecycle, lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING' }
            : undefined,
        );
      } else {
        // Only a sample the function acts on may say it drains or cordons.
        expect(sample.outcome).toBe('untouched');
      }
    });
  });
});
