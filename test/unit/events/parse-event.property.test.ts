/**
 * Property tests: parseEvent never throws, and never turns invalid input into a notice.
 * Each property runs at least 1000 generated events.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACCOUNT_PATTERN,
  EVENT_ID_PATTERN,
  INSTANCE_ID_PATTERN,
  isPlainObject,
  parseHealthTime,
  parseIsoTime,
  REGION_PATTERN,
} from '../../../src/events/envelope.js';
import { parseEvent } from '../../../src/events/parse-event.js';
import { registeredEventTypes } from '../../../src/events/registry.js';
import { type SampleEvent, type SampleKind, sampleEvent, sampleKinds } from '../../../src/events/samples.js';
import { type InterruptionNotice, NoticeKind, type ParseOutcome } from '../../../src/types.js';

const RUNS = 1000;

const instanceIdArb = fc.oneof(fc.stringMatching(/^i-[0-9a-f]{17}$/), fc.stringMatching(/^i-[0-9a-f]{8}$/));
const regionArb = fc.constantFrom('us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-gov-west-1', 'cn-north-1');
const accountArb = fc.stringMatching(/^\d{12}$/);
const timeArb = fc.date({
  min: new Date('2000-01-01T00:00:00Z'),
  max: new Date('2099-12-31T00:00:00Z'),
  noInvalidDate: true,
});

const validEventArb = fc.record({
  kind: fc.constantFrom(...sampleKinds),
  id: fc.uuid(),
  time: timeArb,
  instanceId: instanceIdArb,
  secondId: instanceIdArb,
  region: regionArb,
  account: accountArb,
});

const isString = (v: unknown): v is string => typeof v === 'string';
const isInstanceId = (v: unknown) => isString(v) && INSTANCE_ID_PATTERN.test(v);
const isAsgName = (v: unknown) => isString(v) && v.length >= 1 && v.length <= 255 && !/\p{Cc}/u.test(v);

interface Field {
  where: 'envelope' | 'detail';
  key: string;
  isValid: (value: unknown) => boolean;
}

function envelopeFields(event: SampleEvent): Field[] {
  return [
    {
      where: 'envelope',
      key: 'id',
      isValid: (v) => isString(v) && v.length <= 128 && EVENT_ID_PATTERN.test(v),
    },
    { where: 'envelope', key: 'source', isValid: (v) => v === event.source },
    { where: 'envelope', key: 'detail-type', isValid: (v) => v === event['detail-type'] },
    { where: 'envelope', key: 'account', isValid: (v) => isString(v) && ACCOUNT_PATTERN.test(v) },
    { where: 'envelope', key: 'region', isValid: (v) => isString(v) && REGION_PATTERN.test(v) },
    { where: 'envelope', key: 'time', isValid: (v) => parseIsoTime(v) !== undefined },
    { where: 'envelope', key: 'detail', isValid: isPlainObject },
  ];
}

/** The detail fields without which each notice-producing kind must not yield a notice. */
const detailFields: Partial<Record<SampleKind, Field[]>> = {
  'spot-interruption': [
    { where: 'detail', key: 'instance-id', isValid: isInstanceId },
    {
      where: 'detail',
      key: 'instance-action',
      isValid: (v) => ['terminate', 'stop', 'hibernate'].includes(v as string),
    },
  ],
  'rebalance-recommendation': [{ where: 'detail', key: 'instance-id', isValid: isInstanceId }],
  'state-change-stopping': [
    { where: 'detail', key: 'instance-id', isValid: isInstanceId },
    {
      where: 'detail',
      key: 'state',
      isValid: (v) => ['stopping', 'stopped', 'shutting-down', 'terminated'].includes(v as string),
    },
  ],
  'scheduled-change': [
    { where: 'detail', key: 'service', isValid: (v) => v === 'EC2' },
    { where: 'detail', key: 'eventTypeCategory', isValid: (v) => v === 'scheduledChange' },
    { where: 'detail', key: 'startTime', isValid: (v) => parseHealthTime(v) !== undefined },
    {
      where: 'detail',
      key: 'affectedEntities',
      isValid: (v) => Array.isArray(v) && v.some((e) => isPlainObject(e) && isInstanceId(e.entityValue)),
    },
  ],
  'asg-terminate': [
    { where: 'detail', key: 'EC2InstanceId', isValid: isInstanceId },
    { where: 'detail', key: 'LifecycleHookName', isValid: isAsgName },
    { where: 'detail', key: 'AutoScalingGroupName', isValid: isAsgName },
    {
      where: 'detail',
      key: 'LifecycleActionToken',
      isValid: (v) => isString(v) && /^[0-9A-Za-z-]{36}$/.test(v),
    },
    {
      where: 'detail',
      key: 'LifecycleTransition',
      isValid: (v) => v === 'autoscaling:EC2_INSTANCE_TERMINATING',
    },
  ],
  'capacity-reservation-interruption': [{ where: 'detail', key: 'instance-id', isValid: isInstanceId }],
};

const INJECTIONS = [
  "'; DROP TABLE nodes; --",
  '$(reboot)',
  '`id`',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell-looking literal, on purpose
  '${jndi:ldap://x/a}',
  '\u0000',
  '\n',
  '\r\nX-Injected: 1',
  '%0a',
  '__proto__',
  'constructor',
  '{{7*7}}',
  '\u202e',
  ' ',
  'i-0123456789abcdef0',
  'arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0',
];

const DELETE = Symbol('delete');
type Mutation = (original: unknown) => unknown;

/** Ways to break a field: remove it, truncate it, confuse its type, pad it with injection-looking text, junk. */
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant<Mutation>(() => DELETE),
  fc.anything().map<Mutation>((junk) => () => junk),
  fc.nat().map<Mutation>((n) => (o) => String(o).slice(0, n % Math.max(1, String(o).length))),
  fc.constant<Mutation>((o) => String(o).toUpperCase()),
  fc.constant<Mutation>((o) => [o]),
  fc.constant<Mutation>((o) => ({ value: o })),
  fc.constant<Mutation>((o) => Number(o)),
  fc.constant<Mutation>((o) => `${String(o)}`.repeat(2000)),
  fc.tuple(fc.constantFrom(...INJECTIONS), fc.constantFrom('prefix', 'suffix', 'alone')).map<Mutation>(
    ([text, where]) =>
      (o) =>
        where === 'alone' ? text : where === 'prefix' ? `${text}${o}` : `${o}${text}`,
  ),
);

const DETAIL_KEYS = [
  'instance-id',
  'instance-action',
  'instance-termination-time',
  'state',
  'service',
  'eventTypeCategory',
  'eventTypeCode',
  'startTime',
  'affectedEntities',
  'EC2InstanceId',
  'LifecycleHookName',
  'AutoScalingGroupName',
  'LifecycleActionToken',
  'LifecycleTransition',
  'Event',
  '__proto__',
  'constructor',
];
const detailValueArb = fc.oneof(
  instanceIdArb,
  fc.constantFrom(
    'terminate',
    'hibernate',
    'stopping',
    'running',
    'EC2',
    'scheduledChange',
    'autoscaling:EC2_INSTANCE_TERMINATING',
    'autoscaling:TEST_NOTIFICATION',
    'Sat, 05 Jun 2021 07:00:00 GMT',
    '87654321-4321-4321-4321-210987654321',
    'eks-spot-drainer',
    ...INJECTIONS,
  ),
  fc.array(fc.record({ entityValue: fc.oneof(instanceIdArb, fc.string(), fc.anything()) }), { maxLength: 4 }),
  fc.anything(),
);
function expectWellFormed(notice: InterruptionNotice): void {
  expect(Object.values(NoticeKind)).toContain(notice.kind);
  expect(notice.instanceId).toMatch(INSTANCE_ID_PATTERN);
  expect(notice.region).toMatch(REGION_PATTERN);
  expect(notice.account).toMatch(ACCOUNT_PATTERN);
  expect(notice.eventId).toMatch(EVENT_ID_PATTERN);
  expect(Number.isNaN(notice.eventTime.getTime())).toBe(false);
  if (notice.deadline !== undefined) expect(Number.isNaN(notice.deadline.getTime())).toBe(false);
}

function expectSafeOutcome(outcome: ParseOutcome): void {
  if (outcome.status === 'notices') {
    expect(outcome.notices.length).toBeGreaterThan(0);
    for (const notice of outcome.notices) expectWellFormed(notice);
  } else if (outcome.status === 'reconcile') {
    // Only the schedule's own event is a trigger; a generated event never is.
    expect(outcome.eventId).toMatch(EVENT_ID_PATTERN);
  } else if (outcome.status === 'running') {
    expect(outcome.instanceId).toMatch(INSTANCE_ID_PATTERN);
    expect(outcome.region).toMatch(REGION_PATTERN);
    expect(outcome.account).toMatch(ACCOUNT_PATTERN);
    expect(outcome.eventId).toMatch(EVENT_ID_PATTERN);
  } else if (outcome.status === 'launch') {
    expect(outcome.instanceId).toMatch(INSTANCE_ID_PATTERN);
    expect(outcome.eventId).toMatch(EVENT_ID_PATTERN);
    expect(outcome.lifecycleAction.lifecycleTransition).toBe('autoscaling:EC2_INSTANCE_LAUNCHING');
  } else if (outcome.status === 'hand-off') {
    expect(outcome.eventId).toMatch(EVENT_ID_PATTERN);
    expect(outcome.node).toMatch(/^[a-z0-9][-a-z0-9.]*$/);
  } else {
    expect(['ignored', 'invalid']).toContain(outcome.status);
    expect(outcome.reason.length).toBeLessThanOrEqual(210);
    expect(outcome.reason).toMatch(/^[\x20-\x7e]+$/);
    if (outcome.eventId !== undefined) expect(outcome.eventId).toMatch(EVENT_ID_PATTERN);
  }
}

/** Every string anywhere in a value (bounded, for the random-detail property). */
function stringsIn(value: unknown, depth = 0): string[] {
  if (typeof value === 'string') return [value];
  if (depth > 5 || typeof value !== 'object' || value === null) return [];
  return Object.values(value).flatMap((v) => stringsIn(v, depth + 1));
}

describe('parseEvent (properties)', () => {
  it('reads every valid sample as its kind, with the generated instance, region, account and time', () => {
    fc.assert(
      fc.property(validEventArb, ({ kind, id, time, instanceId, secondId, region, account }) => {
        const event = sampleEvent(kind, {
          id,
          time,
          instanceId,
          instanceIds: [instanceId, secondId],
          region,
          account,
        });
        const eventTime = new Date(Math.floor(time.getTime() / 1000) * 1000);

        const outcome = parseEvent(event);

        expectSafeOutcome(outcome);
        if (kind === 'state-change-running') {
          expect(outcome).toEqual({ status: 'running', eventId: id, instanceId, account, region });
          return;
        }
        if (kind === 'asg-test-notification') {
          expect(outcome.status).toBe('ignored');
          return;
        }
        if (kind === 'asg-launch') {
          expect(outcome).toMatchObject({
            status: 'launch',
            eventId: id,
            instanceId,
            account,
            region,
            eventTime,
          });
          return;
        }
        expect(outcome.status).toBe('notices');
        const list = outcome.status === 'notices' ? outcome.notices : [];
        const expectedIds = kind === 'scheduled-change' ? [...new Set([instanceId, secondId])] : [instanceId];
        expect(list.map((n) => n.instanceId)).toEqual(expectedIds);
        for (const notice of list) {
          expect(notice).toMatchObject({ region, account, eventId: id, eventTime });
        }
        if (kind === 'spot-interruption' || kind === 'capacity-reservation-interruption') {
          expect(list[0]?.deadline).toEqual(new Date(eventTime.getTime() + 120_000));
        }
        if (kind === 'scheduled-change')
          expect(list[0]?.deadline).toEqual(new Date(eventTime.getTime() + 3_600_000));
      }),
      { numRuns: RUNS },
    );
  });

  it('never yields a notice once a required field is broken', () => {
    const kinds = Object.keys(detailFields) as SampleKind[];
    const caseArb = fc
      .record({ kind: fc.constantFrom(...kinds), instanceId: instanceIdArb, time: timeArb, index: fc.nat() })
      .chain(({ kind, instanceId, time, index }) => {
        const event = sampleEvent(kind, { instanceId, time });
        const fields = [...envelopeFields(event), ...(detailFields[kind] ?? [])];
        const field = fields[index % fields.length]!;
        return mutationArb.map((mutate) => ({ event, field, mutate }));
      });

    fc.assert(
      fc.property(caseArb, ({ event, field, mutate }) => {
        const target: Record<string, unknown> = field.where === 'envelope' ? event : event.detail;
        const replacement = mutate(target[field.key]);
        fc.pre(replacement === DELETE || !field.isValid(replacement));
        if (replacement === DELETE) delete target[field.key];
        else target[field.key] = replacement;

        const outcome = parseEvent(event);

        expectSafeOutcome(outcome);
        expect(outcome.status).not.toBe('notices');
      }),
      { numRuns: RUNS },
    );
  });

  it('never throws on random values, JSON or objects with __proto__ keys', () => {
    const rawArb = fc.oneof(
      fc.anything({
        withNullPrototype: true,
        withObjectString: true,
        withBigInt: true,
        withMap: true,
        withSet: true,
      }),
      fc.jsonValue(),
      fc.json().map((text) => text),
      fc.dictionary(
        fc.constantFrom('__proto__', 'constructor', 'prototype', 'id', 'detail', 'source'),
        fc.jsonValue(),
      ),
    );

    fc.assert(
      fc.property(rawArb, (raw) => {
        expectSafeOutcome(parseEvent(raw));
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('yields notices from a partly overwritten detail only while every required field is still valid', () => {
    const kinds = Object.keys(detailFields) as SampleKind[];
    const caseArb = fc.record({
      kind: fc.constantFrom(...kinds),
      overwrite: fc.dictionary(fc.constantFrom(...DETAIL_KEYS), detailValueArb, { maxKeys: 3 }),
      remove: fc.subarray(DETAIL_KEYS, { maxLength: 2 }),
    });

    fc.assert(
      fc.property(caseArb, ({ kind, overwrite, remove }) => {
        const event = sampleEvent(kind);
        Object.assign(event.detail, overwrite);
        for (const key of remove) delete event.detail[key];

        const outcome = parseEvent(event);

        expectSafeOutcome(outcome);
        if (outcome.status === 'notices') {
          for (const field of detailFields[kind] ?? [])
            expect(field.isValid(event.detail[field.key])).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('only yields notices for instance ids that are really in a random detail', () => {
    const eventArb = fc.record({
      type: fc.constantFrom(...registeredEventTypes()),
      detail: fc.dictionary(fc.constantFrom(...DETAIL_KEYS), detailValueArb),
      id: fc.uuid(),
      time: timeArb,
    });

    fc.assert(
      fc.property(eventArb, ({ type, detail, id, time }) => {
        const raw = {
          id,
          source: type.source,
          'detail-type': type.detailType,
          account: '123456789012',
          region: 'us-east-1',
          time: time.toISOString(),
          detail,
        };

        const outcome = parseEvent(raw);

        expectSafeOutcome(outcome);
        if (outcome.status === 'notices') {
          const present = stringsIn(detail);
          for (const notice of outcome.notices) expect(present).toContain(notice.instanceId);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
