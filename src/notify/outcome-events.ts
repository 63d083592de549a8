/**
 * Outcome events: one EventBridge event for each thing the function did to a node (cordoned,
 * drained, out of service, released, ...) or each notice it refused, so that users route outcomes
 * with ordinary rules (SNS, AWS Chatbot, PagerDuty, Step Functions). This file is their schema (the
 * source, the detail-types, the detail) and how they become PutEvents entries, batched within
 * EventBridge's limits. Plain data: src/app decides which outcome is which event; the publisher
 * (outcome-publisher.ts) sends them.
 */
import type { Action, NoticeKind } from '../types.js';

/** The `source` of every outcome event (rules match it; EventBridge keeps `aws.` sources to AWS). */
export const outcomeEventSource = 'eks-spot-drainer';

/**
 * The version of the detail's shape. Fields may be added without a new version; one renamed,
 * removed or given another meaning makes a new version, so rules can match the one they know.
 */
export const outcomeSchemaVersion = 1 as const;

/** The detail-type of each outcome a user may route on. */
export const OutcomeDetailType = {
  Cordoned: 'Node Cordoned',
  Drained: 'Node Drained',
  DeadlineReached: 'Drain Deadline Reached',
  Incomplete: 'Drain Incomplete',
  OutOfService: 'Node Out Of Service',
  Released: 'Node Released',
  Rejected: 'Notice Rejected',
} as const;
export type OutcomeDetailType = (typeof OutcomeDetailType)[keyof typeof OutcomeDetailType];

/** At most this many pods left behind are named in an event; `podsLeft` counts them all. */
export const maxPodsNamed = 20;

/** A pod the drain left on the node. */
export interface PodLeft {
  /** `namespace/name`. */
  pod: string;
  /** e.g. `blocked`, `still-terminating`, `failed`. */
  outcome: string;
  /** The PodDisruptionBudget that refused its eviction. */
  pdb?: string;
}

/** The detail of an outcome event: what happened, to which node, for which notice. */
export interface OutcomeDetail {
  schemaVersion: typeof outcomeSchemaVersion;
  /** The outcome in one word: `drained`, `deadline-reached`, `incomplete`, `halted`, `cordoned`, `out-of-service`, `released`, `rejected`. */
  outcome: string;
  /** The EKS cluster; null for a notice rejected before its cluster was known. */
  cluster: string | null;
  /** The Kubernetes node; null for a notice rejected before its node was known. */
  node: string | null;
  instanceId: string;
  /** The notice kind, e.g. `spot-interruption`; for the reconcile or a running event, the kind of the notice that held the node (null: none did). */
  kind: NoticeKind | null;
  /** The id of the EventBridge event of that notice (null: none held the node). */
  eventId: string | null;
  /** `drain` or `cordon`; null for a rejected notice. */
  action: Action | null;
  /** What acted: a `notice`, the periodic `reconcile`, or an instance's `running` state change. */
  by: 'notice' | 'reconcile' | 'running';
  /** Pods by what the drain did to them; all 0 when no drain ran. */
  counts: { evicted: number; skipped: number; blocked: number; failed: number; forceDeleted: number };
  /** Pods the drain left on the node (blocked, still terminating, failed, stuck, returned). */
  podsLeft: number;
  /** The first {@link maxPodsNamed} of those pods. */
  leftBehind: PodLeft[];
  /** When the drain had to end (ISO 8601); null when none was set. */
  deadline: string | null;
  /** Milliseconds left before the deadline when it ended (negative: it overran); null without a deadline. */
  timeLeftMs: number | null;
  /** The node's record afterwards, e.g. `drained`; null when none is left (released, rejected). */
  state: string | null;
  /** Why, in one sentence. */
  why: string;
  /** Why a notice was rejected (`wrong-account`, `stale`, `ec2-disagrees`, ...); null otherwise. */
  reason: string | null;
  /** The Lambda request id of the invocation that acted, to find its logs. */
  invocationId: string;
}

// A record, so that adding a field without listing it (or the reverse) does not compile.
const detailFieldSet: Record<keyof OutcomeDetail, true> = {
  schemaVersion: true,
  outcome: true,
  cluster: true,
  node: true,
  instanceId: true,
  kind: true,
  eventId: true,
  action: true,
  by: true,
  counts: true,
  podsLeft: true,
  leftBehind: true,
  deadline: true,
  timeLeftMs: true,
  state: true,
  why: true,
  reason: true,
  invocationId: true,
};

/** The detail's fields, in the order the README's table lists them. */
export const outcomeDetailFields = Object.keys(detailFieldSet) as (keyof OutcomeDetail)[];

/** One outcome, ready to be put on a bus. */
export interface OutcomeEvent {
  detailType: OutcomeDetailType;
  detail: OutcomeDetail;
  /** When it happened. */
  time: Date;
}

/**
 * A bus outcome events may be put on: a name of this account and region (`default` is the
 * account's own bus) or an event-bus ARN (another account's bus, whose policy must let the role in).
 * Partner buses (`aws.partner/...`) take no PutEvents, so a name has no slash.
 */
export const EVENT_BUS_PATTERN =
  /^(?:[A-Za-z0-9._-]{1,256}|arn:aws[a-z-]*:events:[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}:\d{12}:event-bus\/[A-Za-z0-9._-]{1,256})$/;

/** A PutEvents request entry (the SDK's shape, without importing the SDK). */
export interface PutEventsEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  EventBusName: string;
  Time: Date;
}

/** PutEvents takes at most 10 entries per call. */
export const maxEntriesPerCall = 10;
/** PutEvents takes at most 256 KB per call, counted as {@link entrySize} counts. */
export const maxBytesPerCall = 256 * 1024;

/** Longer sentences are cut: `why` carries API answers, which may be long. */
const maxWhyLength = 500;

/** The PutEvents entry of an outcome, for the bus `busName` (a name or an ARN). */
export function outcomeEntry(event: OutcomeEvent, busName: string): PutEventsEntry {
  const why = event.detail.why;
  const detail =
    why.length > maxWhyLength ? { ...event.detail, why: `${why.slice(0, maxWhyLength)}...` } : event.detail;
  return {
    Source: outcomeEventSource,
    DetailType: event.detailType,
    Detail: JSON.stringify(detail),
    EventBusName: busName,
    Time: event.time,
  };
}

/**
 * An entry's size as EventBridge counts it against the 256 KB of a call: 14 bytes for the time,
 * and the UTF-8 bytes of its source, detail-type and detail (the bus name is not counted).
 */
export function entrySize(entry: PutEventsEntry): number {
  const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
  return 14 + bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail);
}

/**
 * The entries in calls of at most 10 entries and 256 KB each, in order; an entry larger than a call
 * may carry on its own is returned apart (none of ours comes near: their details are capped).
 */
export function batchEntries(entries: PutEventsEntry[]): {
  batches: PutEventsEntry[][];
  tooLarge: PutEventsEntry[];
} {
  const batches: PutEventsEntry[][] = [];
  const tooLarge: PutEventsEntry[] = [];
  let batch: PutEventsEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entrySize(entry);
    if (size > maxBytesPerCall) {
      tooLarge.push(entry);
      continue;
    }
    if (batch.length === maxEntriesPerCall || bytes + size > maxBytesPerCall) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return { batches, tooLarge };
}
