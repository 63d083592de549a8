/**
 * Notifiers that need no webhook code: the one that sends nothing, and the one that loads its
 * implementation with the first notification. The webhook's code and the SDK client that reads its
 * secret are chunks of the bundle of their own; most invocations of a function with a webhook
 * still send nothing (no drain), and a Spot notice's cold start should not parse them.
 */
import type { Notifier, NotifyStatus } from './types.js';

const disabled: NotifyStatus = { status: 'disabled' };

/** A notifier that sends nothing: no webhook is configured. */
export const disabledNotifier: Notifier = {
  drainStarted: async () => disabled,
  drainFinished: async () => disabled,
};

/**
 * A notifier built by `load` on the first notification and kept. A load that fails is that
 * notification's failure (a notifier never throws) and is tried again on the next one.
 *
 * @example
 * const notifier = notifierOnFirstUse(async () => {
 *   const { createWebhookNotifier } = await import('./webhook.js');
 *   return createWebhookNotifier(url);
 * });
 */
export function notifierOnFirstUse(load: () => Promise<Notifier>): Notifier {
  let loaded: Promise<Notifier> | undefined;
  const notifier = () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
  const failed = (error: unknown): NotifyStatus => ({
    status: 'failed',
    reason: `the notifier could not be loaded: ${error instanceof Error ? error.name : 'Error'}`,
  });
  return {
    drainStarted: (info) => notifier().then((n) => n.drainStarted(info), failed),
    drainFinished: (info, summary) => notifier().then((n) => n.drainFinished(info, summary), failed),
  };
}
