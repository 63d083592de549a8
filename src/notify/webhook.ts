/**
 * Optional drain notifications to a Slack-compatible incoming webhook, whose URL is kept in a secret
 * (WEBHOOK_URL_SECRET_NAME, see webhook-secret.ts) and read on the first notification.
 * A notification is a courtesy: it is bounded by a short timeout, never throws, and reports what
 * happened as a {@link NotifyStatus} for the caller to log. It never delays a drain by more than
 * the timeout, and carries no credential: the body holds only the facts in DrainInfo/DrainSummary.
 */
import { drainFinishedMessage, drainStartedMessage, type SlackMessage } from './message.js';
import { isHttpsUrl, WebhookSecretError } from './secret-ref.js';
import type { DrainInfo, DrainSummary, Notifier, NotifyStatus } from './types.js';

/** How long one post may take, answer included. */
export const WEBHOOK_TIMEOUT_MS = 2_000;

export interface WebhookOptions {
  /** Overrides {@link WEBHOOK_TIMEOUT_MS}. */
  timeoutMs?: number;
}

type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

const disabled: NotifyStatus = { status: 'disabled' };

/** A notifier that sends nothing: no webhook is configured. */
export const disabledNotifier: Notifier = {
  drainStarted: async () => disabled,
  drainFinished: async () => disabled,
};

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

/**
 * The first 200 printable characters of a body: Slack answers errors like `invalid_payload` in it.
 * Some servers echo the request path (`Cannot POST /services/...`): the path is cut out.
 */
async function readAnswer(response: Response, url: string): Promise<string> {
  const text = await response.text();
  const { pathname } = new URL(url);
  const redacted = pathname.length > 1 ? text.split(pathname).join('[path]') : text;
  return redacted
    .replace(/[^\x20-\x7e]/g, ' ')
    .trim()
    .slice(0, 200);
}

async function post(
  url: string,
  build: () => SlackMessage,
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
    const response = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'eks-spot-drainer' },
      body: JSON.stringify(build()),
      signal: controller.signal,
      // A redirect would carry the message somewhere nobody configured.
      redirect: 'error',
    });
    const answer = await readAnswer(response, url);
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

/** Where the URL comes from: the URL itself, or a reader of its secret (called once, on first use). */
export type WebhookUrlSource = string | (() => Promise<string>);

/**
 * Creates the notifier for a webhook URL; an empty or missing URL gives {@link disabledNotifier}.
 * A reader is called on the first notification and its URL kept for the container's life; a failed
 * read is reported as that notification's failure and tried again on the next one.
 *
 * @example
 * const notifier = createWebhookNotifier(() => readWebhookUrl(ref, { region }));
 * const status = await notifier.drainStarted(info);
 * if (status.status === 'failed') logger.warn('notification failed', { reason: status.reason });
 */
export function createWebhookNotifier(
  source: WebhookUrlSource | undefined,
  fetchImpl: FetchLike = fetch,
  options: WebhookOptions = {},
): Notifier {
  const read = typeof source === 'function' ? source : undefined;
  const fixed = typeof source === 'string' ? source.trim() : '';
  if (!read && fixed === '') return disabledNotifier;
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  let cached: Promise<string> | undefined;
  const url = (): Promise<string> => {
    if (!read) return Promise.resolve(fixed);
    cached ??= read().catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
  const send = async (build: () => SlackMessage): Promise<NotifyStatus> => {
    let target: string;
    try {
      target = await url();
    } catch (error) {
      const reason = error instanceof WebhookSecretError ? error.message : 'cannot read the webhook URL';
      return { status: 'failed', reason };
    }
    if (!isHttpsUrl(target)) return { status: 'failed', reason: 'the webhook URL is not an https URL' };
    return post(target, build, fetchImpl, timeoutMs);
  };
  return {
    drainStarted: (info: DrainInfo) => send(() => drainStartedMessage(info)),
    drainFinished: (info: DrainInfo, summary: DrainSummary) =>
      send(() => drainFinishedMessage(info, summary)),
  };
}
