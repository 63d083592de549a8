import { TransientError } from '../errors.js';
import { parseEvent } from '../events/parse-event.js';
import { describeError } from '../observability/redact.js';
import { type AppDeps, handleNotice, type Invocation, type NoticeReport } from './handle-notice.js';
import { type ClusterReconcileReport, reconcileAll } from './reconcile-all.js';

export interface EventReport {
  eventId: string | undefined;
  status: 'invalid' | 'ignored' | 'handled' | 'reconciled';
  reason?: string;
  notices: NoticeReport[];
  /** The schedule's reconcile pass, per managed cluster. */
  reconcile?: ClusterReconcileReport[];
}

/**
 * The whole job for one EventBridge event: parse it, act on each notice it carries (a Health event
 * can name many instances, drained in parallel), and report. Bad or irrelevant input is logged and
 * returned, never thrown: no retry can fix it. If any notice failed in a way a retry may fix, this
 * throws a TransientError after every notice was tried, so Lambda retries the event and, last, the
 * dead-letter queue keeps it; notices that succeeded are no-ops on the retry, thanks to the node lease.
 */
export async function handleEvent(raw: unknown, deps: AppDeps, invocation: Invocation): Promise<EventReport> {
  const parsed = parseEvent(raw);
  if (parsed.status === 'reconcile') {
    const reconcile = await reconcileAll(deps, invocation);
    return { eventId: parsed.eventId, status: 'reconciled', notices: [], reconcile };
  }
  if (parsed.status !== 'notices') {
    if (parsed.status === 'invalid') {
      deps.metrics.invalidEvent();
      deps.logger.warn('event dropped: invalid', { eventId: parsed.eventId, reason: parsed.reason });
    } else {
      deps.metrics.ignoredEvent();
      deps.logger.info('event ignored', { eventId: parsed.eventId, reason: parsed.reason });
    }
    return { eventId: parsed.eventId, status: parsed.status, reason: parsed.reason, notices: [] };
  }

  const eventId = parsed.notices[0]?.eventId;
  const settled = await Promise.allSettled(
    parsed.notices.map((notice) => handleNotice(notice, deps, invocation)),
  );
  const reports: NoticeReport[] = [];
  const failures: string[] = [];
  settled.forEach((outcome, index) => {
    if (outcome.status === 'fulfilled') {
      reports.push(outcome.value);
      return;
    }
    const notice = parsed.notices[index]!;
    const error = describeError(outcome.reason);
    deps.metrics.error();
    deps.logger.error('notice failed; the event will be retried', {
      eventId: notice.eventId,
      kind: notice.kind,
      instanceId: notice.instanceId,
      error,
    });
    failures.push(`${notice.instanceId}: ${error.name}: ${error.message}`);
  });
  if (failures.length > 0) {
    throw new TransientError(
      `event ${eventId}: ${failures.length} of ${settled.length} notices failed: ${failures.join('; ')}`,
    );
  }
  return { eventId, status: 'handled', notices: reports };
}
