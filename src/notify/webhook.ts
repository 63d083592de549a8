/**
 * Optional drain notifications to a webhook (Slack, Teams, Chime or one's own JSON receiver), whose
 * URL, format, template and headers are kept in a secret (WEBHOOK_URL_SECRET_NAME, see
 * webhook-secret.ts) and read on the first notification.
 * A notification is a courtesy: it is bounded by a short timeout, never throws, and reports what
 * happened as a {@link NotifyStatus} for the caller to log. It never delays a drain by more than
 * the timeout, and carries no credential: the body holds only the facts in DrainInfo/DrainSummary.
 */
import { ConfigError } from '../errors.js';
import { renderBody } from './formats.js';
import { disabledNotifier } from './notifier.js';
import { isHttpsUrl, WebhookSecretError } from './secret-ref.js';
import {
  type DrainInfo,
  type DrainSummary,
  type Notification,
  NotificationEvent,
  type Notifier,
  type NotifyStatus,
} from './types.js';
import { urlTarget, type WebhookTarget } from './webhook-target.js';

/** How long one post may take, answer included. */
export const WEBHOOK_TIMEOUT_MS = 2_000;

export interface WebhookOptions {
  /** Overrides {@link WEBHOOK_TIMEOUT_MS}. */
  timeoutMs?: number;
}

type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export { disabledNotifier };

/** Raised into the abort signal when the timer fires, so the failure can be told apart. */
class WebhookTimeout extends Error {
  override name = 'WebhookTimeout';
}

/** Why a post failed, without the URL (a Slack webhook URL is itself the secret). */
function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof WebhookTimeout) return `timed out after ${timeoutMs} ms`;
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : (error as { code?: unknown })?.code;
  if (typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code)) return `network error (${code})`;
  return error instanceof Error ? `request failed (${error.name})` : 'request failed';
}

/** Shorter values (`1`, `yes`) are no secret, and cutting them out would garble the answer. */
const MIN_REDACTED_LENGTH = 6;

/** What an answer must not repeat, with what replaces it: the longest first, so none is cut in two. */
function secretsOf(target: WebhookTarget): [secret: string, mark: string][] {
  const { pathname, search, searchParams } = new URL(target.url);
  const values: [string, string][] = [
    ...[...searchParams.values()].map((value): [string, string] => [value, '[query]']),
    ...Object.values(target.headers).map((value): [string, string] => [value, '[header]']),
  ];
  return [
    ...(pathname.length > 1 ? [[pathname, '[path]'] as [string, string]] : []),
    ...(search.length > 1 ? [[search, '[query]'] as [string, string]] : []),
    ...values.filter(([value]) => value.length >= MIN_REDACTED_LENGTH),
  ].sort((a, b) => b[0].length - a[0].length);
}

/**
 * The first 200 printable characters of a body: Slack answers errors like `invalid_payload` in it.
 * Some servers echo the request (`Cannot POST /services/...`): its path, query (Chime's token) and
 * header values are cut out.
 */
async function readAnswer(response: Response, target: WebhookTarget): Promise<string> {
  let text = await response.text();
  for (const [secret, mark] of secretsOf(target)) text = text.split(secret).join(mark);
  return text
    .replace(/[^\x20-\x7e]/g, ' ')
    .trim()
    .slice(0, 200);
}

async function post(
  target: WebhookTarget,
  notification: Notification,
  fetchImpl: FetchLike,
  timeoutMs: number,
): Promise<NotifyStatus> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  // Races the request so that even a fetch that ignores its signal cannot hold the drain up.
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const timeout = new WebhookTimeout();
      controller.abort(timeout);
      reject(timeout);
    }, timeoutMs);
  });
  const attempt = async (): Promise<NotifyStatus> => {
    const response = await fetchImpl(target.url, {
      method: 'POST',
      // The secret's headers come last: they may set content-type or user-agent, never framing ones.
      headers: { 'content-type': 'application/json', 'user-agent': 'eks-spot-drainer', ...target.headers },
      body: renderBody(target.format, target.template, notification),
      signal: controller.signal,
      // A redirect would carry the message somewhere nobody configured.
      redirect: 'error',
    });
    const answer = await readAnswer(response, target);
    if (response.ok) return { status: 'sent', httpStatus: response.status };
    const reason = `HTTP ${response.status}${answer === '' ? '' : `: ${answer}`}`;
    return { status: 'failed', httpStatus: response.status, reason };
  };
  try {
    return await Promise.race([attempt(), expired]);
  } catch (error) {
    return { status: 'failed', reason: describeFailure(error, timeoutMs) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Where the webhook comes from: a bare URL (the Slack preset), a parsed target, or a reader of the
 * secret that holds it (called once, on first use).
 */
export type WebhookSource = string | WebhookTarget | (() => Promise<WebhookTarget>);

/**
 * Creates the notifier for a webhook; an empty or missing URL gives {@link disabledNotifier}.
 * A reader is called on the first notification and its target kept for the container's life; a
 * failed read (or a secret refused, e.g. for a template naming no placeholder) is reported as that
 * notification's failure, nothing is posted, and it is read again on the next one.
 *
 * @example
 * const notifier = createWebhookNotifier(() => readWebhookTarget(ref, { region }));
 * const status = await notifier.drainStarted(info);
 * if (status.status === 'failed') logger.warn('notification failed', { reason: status.reason });
 */
export function createWebhookNotifier(
  source: WebhookSource | undefined,
  fetchImpl: FetchLike = fetch,
  options: WebhookOptions = {},
): Notifier {
  const read = typeof source === 'function' ? source : undefined;
  const fixed =
    typeof source === 'string' ? urlTarget(source.trim()) : typeof source === 'object' ? source : undefined;
  if (!read && (fixed === undefined || fixed.url === '')) return disabledNotifier;
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  let cached: Promise<WebhookTarget> | undefined;
  const resolve = (): Promise<WebhookTarget> => {
    if (!read) return Promise.resolve(fixed!);
    cached ??= read().catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
  const send = async (notification: Notification): Promise<NotifyStatus> => {
    let target: WebhookTarget;
    try {
      target = await resolve();
    } catch (error) {
      // Both are worded never to quote the secret; anything else might (a parser quoting its input).
      const known = error instanceof WebhookSecretError || error instanceof ConfigError;
      return { status: 'failed', reason: known ? error.message : 'cannot read the webhook URL' };
    }
    if (!isHttpsUrl(target.url)) return { status: 'failed', reason: 'the webhook URL is not an https URL' };
    return post(target, notification, fetchImpl, timeoutMs);
  };
  return {
    drainStarted: (info: DrainInfo) => send({ event: NotificationEvent.Started, info }),
    drainFinished: (info: DrainInfo, summary: DrainSummary) =>
      send({ event: NotificationEvent.Finished, info, summary }),
  };
}
