/**
 * The real AWS event samples of test/fixtures/events/real (copied verbatim from the AWS documentation
 * and open-source handlers, see its README), what each one is, and how to turn one into the event it
 * would be in a deployment of ours.
 */
import { readFileSync } from 'node:fs';
import { parseHealthTime, parseIsoTime } from '../../src/events/index.js';
import type { NoticeKind } from '../../src/types.js';

const dir = new URL('../fixtures/events/real/', import.meta.url);

/** What the function does with a sample once it is an event of the deployment's account. */
export type SampleOutcome =
  /** Cordoned and every evictable pod evicted. */
  | 'drained'
  /** Cordoned only (a rebalance recommendation, by default). */
  | 'cordoned'
  /** Recorded on the node, to be drained shortly before the change starts (an AWS Health change far ahead). */
  | 'scheduled'
  /** The function is not invoked (no enabled rule matches) or drops the event: the node is left alone. */
  | 'untouched';

export interface RealSample {
  /** Path under test/fixtures/events/real. */
  file: string;
  /** The strings that stand for EC2 instances in the sample (real ids or placeholders), in order. */
  instances: string[];
  /** Whether an enabled rule of ours matches the localized sample, so EventBridge invokes the function. */
  routed: boolean;
  outcome: SampleOutcome;
  /** The kind of notice the localized sample parses to, if it parses to notices. */
  kind?: NoticeKind;
  /** An Auto Scaling lifecycle action to complete after the drain. */
  lifecycle?: { autoScalingGroupName: string; lifecycleHookName: string; lifecycleActionToken: string };
}

const lifecycle = (
  autoScalingGroupName: string,
  lifecycleHookName: string,
  lifecycleActionToken: string,
) => ({
  autoScalingGroupName,
  lifecycleHookName,
  lifecycleActionToken,
});

/** Every sample file, and what it must come to. The unit test checks that no file is missing here. */
export const realSamples: readonly RealSample[] = [
  {
    // "instance-action": "action" is a placeholder the parser does not accept: the event is dropped.
    file: 'aws-docs/spot-instance-interruption-warning.json',
    instances: ['i-1234567890abcdef0'],
    routed: true,
    outcome: 'untouched',
  },
  {
    file: 'aws-docs/instance-rebalance-recommendation.json',
    instances: ['i-1234567890abcdef0'],
    routed: true,
    outcome: 'cordoned',
    kind: 'rebalance-recommendation',
  },
  {
    file: 'aws-docs/instance-state-change-pending.json',
    instances: ['i-1234567890abcdef0'],
    routed: false,
    outcome: 'untouched',
  },
  {
    file: 'aws-docs/instance-terminate-lifecycle-action.json',
    instances: ['i-1234567890abcdef0'],
    routed: true,
    outcome: 'drained',
    kind: 'asg-terminate',
    lifecycle: lifecycle('my-asg', 'my-lifecycle-hook', '87654321-4321-4321-4321-210987654321'),
  },
  {
    file: 'aws-docs/instance-terminate-lifecycle-action-warm-pool.json',
    instances: ['i-1234567890abcdef0'],
    routed: true,
    outcome: 'drained',
    kind: 'asg-terminate',
    lifecycle: lifecycle('my-asg', 'my-termination-lifecycle-hook', '42694b3d-4b70-6a62-8523-09a1eEXAMPLE'),
  },
  {
    file: 'aws-docs/capacity-reservation-instance-interruption-warning.json',
    instances: ['[instance-id]'],
    routed: true,
    outcome: 'drained',
    kind: 'capacity-reservation-interruption',
  },
  {
    // The Capacity Blocks page writes "detail_type": no rule can match an event without detail-type.
    file: 'aws-docs/capacity-block-instance-interruption-warning.json',
    instances: ['[Instance ID]'],
    routed: false,
    outcome: 'untouched',
  },
  {
    file: 'nth/spot-itn-event.json',
    instances: ['i-0b662ef9931388ba0'],
    routed: true,
    outcome: 'drained',
    kind: 'spot-interruption',
  },
  {
    file: 'nth/rebalance-recommendation-event.json',
    instances: ['i-0b662ef9931388ba0'],
    routed: true,
    outcome: 'cordoned',
    kind: 'rebalance-recommendation',
  },
  { file: 'nth/ec2-state-change-event.json', instances: ['i-abcd1111'], routed: false, outcome: 'untouched' },
  {
    // The change starts 8 h 42 min after the event: far beyond scheduledDrainLeadMinutes.
    file: 'nth/scheduled-change-event.json',
    instances: ['i-12345678'],
    routed: true,
    outcome: 'scheduled',
    kind: 'scheduled-change',
  },
  {
    file: 'nth/asg-lifecycle-event.json',
    instances: ['i-0633ac2b0d9769723'],
    routed: true,
    outcome: 'drained',
    kind: 'asg-terminate',
    lifecycle: lifecycle(
      'testt1.demo-0a20f32c.kops.sh',
      'cluster-termination-handler',
      '0befcbdb-6ecd-498a-9ff7-ae9b54447cd6',
    ),
  },
  {
    file: 'aws-lambda-go/autoscaling-event-terminate-action.json',
    instances: ['i-1234567890abcdef0'],
    routed: true,
    outcome: 'drained',
    kind: 'asg-terminate',
    lifecycle: lifecycle('my-asg', 'my-lifecycle-hook', '87654321-4321-4321-4321-210987654321'),
  },
  {
    // "instance_id" instead of "instance-id": the state rule matches, the parser drops it as invalid.
    file: 'powertools-python/eventBridgeEvent.json',
    instances: ['i-1234567890abcdef0'],
    routed: true,
    outcome: 'untouched',
  },
];

/** The sample file as it is, parsed. */
export function loadRealSample(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as Record<string, unknown>;
}

/** The sample files on disk, relative to test/fixtures/events/real. */
export function realSampleDir(): URL {
  return dir;
}

/** Where a localized sample happens: the deployment's account and region, its instances, and when. */
export interface Locale {
  account: string;
  region: string;
  /** Replace the sample's `instances`, in order. */
  instanceIds: string[];
  now: Date;
}

const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The sample as the event would be in the deployment: `account` and `region` set to the deployment's,
 * each of its instance strings replaced by one of ours, and its time set to `now` with every time in
 * `detail` moved by the same amount (a placeholder time such as "yyyy-mm-ddThh:mm:ssZ" becomes `now`;
 * placeholders in `detail` stay). Nothing else changes, so a mistake in the sample stays a mistake.
 */
export function localizeSample(sample: RealSample, event: Record<string, unknown>, locale: Locale) {
  let text = JSON.stringify(event);
  sample.instances.forEach((placeholder, i) => {
    const id = locale.instanceIds[i];
    if (id) text = text.replaceAll(JSON.stringify(placeholder).slice(1, -1), id);
  });
  const localized = JSON.parse(text) as Record<string, unknown>;
  if ('account' in localized) localized.account = locale.account;
  if ('region' in localized) localized.region = locale.region;
  const original = parseIsoTime(localized.time);
  const shiftMs = original ? locale.now.getTime() - original.getTime() : undefined;
  localized.time = isoSeconds(locale.now);
  if (shiftMs !== undefined && typeof localized.detail === 'object' && localized.detail !== null) {
    localized.detail = shiftTimes(localized.detail, shiftMs);
  }
  return localized;
}

/** Moves every time string in `value` by `shiftMs`, keeping its format (ISO 8601 or RFC 1123). */
function shiftTimes(value: unknown, shiftMs: number): unknown {
  if (Array.isArray(value)) return value.map((item) => shiftTimes(item, shiftMs));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shiftTimes(v, shiftMs)]));
  }
  if (typeof value !== 'string') return value;
  const iso = parseIsoTime(value);
  if (iso) return isoSeconds(new Date(iso.getTime() + shiftMs));
  const rfc = parseHealthTime(value);
  return rfc ? new Date(rfc.getTime() + shiftMs).toUTCString() : value;
}
