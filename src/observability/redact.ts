/**
 * Removes what must never reach a log: EKS bearer tokens, presigned-URL signatures and credentials,
 * and Authorization headers. Applied to every error we log, because client and SDK errors carry
 * request details we do not control.
 */
const patterns: [RegExp, string][] = [
  [/k8s-aws-v1\.[A-Za-z0-9_-]+/g, 'k8s-aws-v1.[REDACTED]'],
  [/(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s"']+/gi, '$1[REDACTED]'],
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[REDACTED]'],
  [/((?:aws_)?secret_?access_?key["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{16,}/gi, '$1[REDACTED]'],
  [/((?:aws_)?session_?token["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{16,}/gi, '$1[REDACTED]'],
];

export function redact(text: string): string {
  let out = text;
  for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement);
  return out;
}

/** A loggable description of an error: name, status code and message, redacted and bounded. */
export function describeError(error: unknown): { name: string; message: string; code?: number | string } {
  if (!(error instanceof Error) && (typeof error !== 'object' || error === null)) {
    return { name: 'Error', message: redact(String(error)).slice(0, 1_000) };
  }
  const e = error as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown };
  const code = typeof e.code === 'number' || typeof e.code === 'string' ? e.code : undefined;
  let message = typeof e.message === 'string' ? e.message : String(error);
  if (e.cause instanceof Error && e.cause.message && !message.includes(e.cause.message)) {
    message += ` (cause: ${e.cause.message})`;
  }
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: redact(message).slice(0, 1_000),
    ...(code !== undefined ? { code } : {}),
  };
}
