/**
 * Every error class of the project. The handler's contract rests on two of them:
 * input errors are logged and dropped; a {@link TransientError} fails the invocation so
 * Lambda retries and, last, the dead-letter queue keeps the event.
 */

/** A configuration value is missing or malformed: the function cannot start. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

/** A failure that a later attempt may not see (throttling, 5xx, timeouts, connection resets). */
export class TransientError extends Error {
  override name = 'TransientError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The deadline passed before an operation could finish. */
export class DeadlineExceededError extends Error {
  override name = 'DeadlineExceededError';
}

/** The local configuration (kubeconfig, event file, node name) points at something that is not there. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
