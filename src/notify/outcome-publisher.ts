/**
 * Puts outcome events (outcome-events.ts) on the EventBridge bus OUTCOME_EVENT_BUS names. Like a
 * notification, a courtesy: bounded by a short timeout, it never throws and never delays a drain
 * (the caller puts them once the notices are done), and reports what became of them for the caller
 * to log and count. Entries EventBridge answers with a transient error (FailedEntryCount) are sent
 * again while the timeout allows.
 *
 * The EventBridge client is loaded and built on first use: a container with nothing to report never
 * pays for it in its cold start.
 */
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { type AwsCallOptions, callAws } from '../aws/aws-retry.js';
import { sdkClientConfig } from '../aws/clients.js';
import { describeError } from '../observability/redact.js';
import { sleep } from '../retry.js';
import { batchEntries, type OutcomeEvent, outcomeEntry, type PutEventsEntry } from './outcome-events.js';

/** How long putting one invocation's events may take, retries included. */
export const OUTCOME_EVENTS_TIMEOUT_MS = 3_000;

/** What became of some outcome events. Never an exception: the caller logs it and moves on. */
export type PublishStatus =
  /** OUTCOME_EVENTS is off (or the CLI, which puts none). */
  | { status: 'disabled' }
  | { status: 'sent'; sent: number }
  /** Some or all were not put; `reason` is safe to log. */
  | { status: 'failed'; sent: number; failed: number; reason: string };

/** Puts outcome events on a bus; resolves, never throws. */
export interface OutcomePublisher {
  publish(events: OutcomeEvent[]): Promise<PublishStatus>;
}

/** A publisher that puts nothing. */
export const disabledOutcomePublisher: OutcomePublisher = {
  publish: async () => ({ status: 'disabled' }),
};

export interface OutcomePublisherOptions {
  /** The bus: a name (`default`, the account's own) or an ARN. */
  busName: string;
  region: string;
  /** moto in tests; AWS_ENDPOINT_URL_EVENTBRIDGE. */
  endpoint?: string | undefined;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Overrides {@link OUTCOME_EVENTS_TIMEOUT_MS}. */
  timeoutMs?: number;
  now?: () => number;
}

/** One PutEvents call, in the SDK's shapes (the seam unit tests replace with aws-sdk-client-mock). */
type PutEvents = (
  entries: PutEventsEntry[],
  abortSignal: AbortSignal,
) => Promise<{ FailedEntryCount?: number; Entries?: { EventId?: string; ErrorCode?: string }[] }>;

/** Entry error codes another attempt may not see (the PutEvents API reference's list). */
const transientEntryErrors = new Set(['ThrottlingException', 'InternalFailure', 'InternalException']);
const maxEntryAttempts = 3;
const entryRetryDelayMs = 100;

/**
 * A publisher that puts events on `busName`, in calls of at most 10 entries and 256 KB.
 *
 * @example
 * const publisher = eventBridgePublisher({ busName: 'default', region: 'eu-west-1' });
 * const status = await publisher.publish(events);
 * if (status.status === 'failed') logger.warn('outcome events failed', { reason: status.reason });
 */
export function eventBridgePublisher(options: OutcomePublisherOptions): OutcomePublisher {
  let client: Promise<PutEvents> | undefined;
  const load = async (): Promise<PutEvents> => {
    const { EventBridgeClient, PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
    const events = new EventBridgeClient(sdkClientConfig(options));
    return (entries, abortSignal) => events.send(new PutEventsCommand({ Entries: entries }), { abortSignal });
  };
  const connect = async (): Promise<PutEvents> => {
    client ??= load();
    return client.catch((error: unknown) => {
      client = undefined;
      throw error;
    });
  };
  return {
    async publish(list) {
      if (list.length === 0) return { status: 'sent', sent: 0 };
      const timeoutMs = options.timeoutMs ?? OUTCOME_EVENTS_TIMEOUT_MS;
      const now = options.now ?? Date.now;
      const call: AwsCallOptions = { deadline: now() + timeoutMs, now };
      const progress = { sent: 0 };
      let timer: NodeJS.Timeout | undefined;
      // callAws aborts each attempt at the deadline; this stops waiting even for a call that ignores it.
      const expired = new Promise<PublishStatus>((resolve) => {
        timer = setTimeout(() => {
          const failed = list.length - progress.sent;
          resolve({
            status: 'failed',
            sent: progress.sent,
            failed,
            reason: `timed out after ${timeoutMs} ms`,
          });
        }, timeoutMs + backstopMs);
      });
      const work = async (): Promise<PublishStatus> => {
        try {
          return await putAll(await connect(), list, options.busName, call, progress);
        } catch (error) {
          const { name, message } = describeError(error);
          return {
            status: 'failed',
            sent: progress.sent,
            failed: list.length - progress.sent,
            reason: `${name}: ${message}`,
          };
        }
      };
      try {
        return await Promise.race([work(), expired]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Past the deadline, how long a call that ignores its abort is waited for. */
const backstopMs = 250;

/** Every event put, in calls within EventBridge's limits; `progress` counts those put so far. */
async function putAll(
  put: PutEvents,
  list: OutcomeEvent[],
  busName: string,
  call: AwsCallOptions,
  progress: { sent: number },
): Promise<PublishStatus> {
  const { batches, tooLarge } = batchEntries(list.map((event) => outcomeEntry(event, busName)));
  const refused = await Promise.all(batches.map((batch) => putBatch(put, batch, call, progress)));
  const reasons = [
    ...refused.filter((reason) => reason !== ''),
    ...(tooLarge.length > 0 ? [`${tooLarge.length} larger than 256 KB`] : []),
  ];
  const failed = list.length - progress.sent;
  if (failed === 0) return { status: 'sent', sent: progress.sent };
  return { status: 'failed', sent: progress.sent, failed, reason: reasons.join('; ') };
}

/**
 * One call's entries put; those EventBridge refused for a transient reason are sent again, a few
 * times. Returns why some were not put ('' when all were).
 */
async function putBatch(
  put: PutEvents,
  batch: PutEventsEntry[],
  call: AwsCallOptions,
  progress: { sent: number },
): Promise<string> {
  const now = call.now ?? Date.now;
  let pending = batch;
  const refused: string[] = [];
  for (let attempt = 1; pending.length > 0; attempt++) {
    let answer: Awaited<ReturnType<PutEvents>>;
    try {
      answer = await callAws(`PutEvents (${pending.length} entries)`, (signal) => put(pending, signal), call);
    } catch (error) {
      const { name, message } = describeError(error);
      return `${name}: ${message}`;
    }
    const again: { entry: PutEventsEntry; code: string }[] = [];
    pending.forEach((entry, i) => {
      const result = answer.Entries?.[i];
      // No entry failed: each was put, whatever the answer lists.
      if (!answer.FailedEntryCount || (result?.EventId && !result.ErrorCode)) progress.sent++;
      else if (transientEntryErrors.has(result?.ErrorCode ?? ''))
        again.push({ entry, code: result!.ErrorCode! });
      else refused.push(result?.ErrorCode ?? 'no answer');
    });
    const delay = entryRetryDelayMs * attempt;
    if (again.length > 0 && (attempt === maxEntryAttempts || now() + delay >= call.deadline)) {
      refused.push(...again.map((a) => a.code));
      break;
    }
    pending = again.map((a) => a.entry);
    if (pending.length > 0) await sleep(delay);
  }
  return refused.length > 0 ? `entries refused: ${summarize(refused)}` : '';
}

/** `ThrottlingException x2, InvalidArgument`: each code once, with its count. */
function summarize(codes: string[]): string {
  const counts = new Map<string, number>();
  for (const code of codes) counts.set(code, (counts.get(code) ?? 0) + 1);
  return [...counts].map(([code, n]) => (n > 1 ? `${code} x${n}` : code)).join(', ');
}
