/**
 * One readable line for any failure the CLI meets, and the exit code that goes with it. client-node
 * reports a refused connection as "request to <url> failed, reason: ..." and an API refusal as an
 * ApiException with a JSON body; an operator wants neither verbatim, nor a stack trace.
 */
import { ConfigError, UsageError } from '../errors.js';
import { httpStatusOf, kubeStatusOf } from '../kube/api-errors.js';
import { redact } from '../observability/redact.js';
import { ExitCode } from './io.js';

export interface ExplainedError {
  message: string;
  exitCode: ExitCode;
}

const fetchFailure = /(?:FetchError: )?request to (https?:\/\/[^\s/]+)\S* failed, reason: ([^;]+)/g;

/** The error as one line (no newline, no stack, no token) and the exit code it calls for. */
export function explainError(error: unknown, server?: string): ExplainedError {
  if (error instanceof UsageError || error instanceof ConfigError) {
    return { message: oneLine(withoutQuotedFile(error)), exitCode: ExitCode.Usage };
  }
  return { message: oneLine(describeFailure(error, server)), exitCode: ExitCode.Failure };
}

/**
 * A YAML parser quotes the lines around a syntax error (js-yaml: numbered, under the reason and
 * position): in a kubeconfig those lines hold tokens and private keys. Only the first line is kept,
 * the reason and position, which is enough to find the mistake in the file.
 */
function withoutQuotedFile(error: UsageError | ConfigError): string {
  const cause = (error as { cause?: { name?: unknown } }).cause;
  const quotesFile = cause?.name === 'YAMLException' || error.message.startsWith('cannot read kubeconfig ');
  const [reason = ''] = error.message.split('\n', 1);
  if (!quotesFile || reason === error.message) return error.message;
  return `${reason.trimEnd()} (the file's content is not shown)`;
}

/** kubeconfig fields that hold credentials, wherever a message quotes them. */
const credentialFields =
  /\b(token|id-token|refresh-token|access-token|client-key-data|client-certificate-data|password|secret)("?\s*[:=]\s*)("?)[^\s",}]+/gi;

/** Rewrites client-node's connection failures inside any message into "cannot reach ..." phrases. */
export function readableKubeMessage(message: string): string {
  return message.replace(
    fetchFailure,
    (_, origin: string, reason: string) => `cannot reach the Kubernetes API at ${origin}: ${reason.trim()}`,
  );
}

function describeFailure(error: unknown, server: string | undefined): string {
  const e = error as { name?: unknown; message?: unknown; type?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const status = httpStatusOf(error);
  const at = server ? ` at ${server}` : '';
  if (status !== undefined) {
    const detail = kubeStatusOf(error).message ?? message;
    if (status === 401) return `the Kubernetes API${at} rejected the credentials (HTTP 401): ${detail}`;
    if (status === 403 && detail.includes('ValidatingAdmissionPolicy')) {
      return `the Kubernetes API${at} refused (HTTP 403): ${detail} (deploy/node-fence.yaml fences what eks-spot-drainer may change on a node)`;
    }
    if (status === 403) {
      return `the Kubernetes API${at} refused (HTTP 403): ${detail}; is deploy/rbac.yaml applied? (eks-spot-drainer rbac)`;
    }
    return `the Kubernetes API${at} answered HTTP ${status}: ${detail}`;
  }
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError' || e?.type === 'aborted') {
    return `cannot reach the Kubernetes API${at}: no answer in time`;
  }
  const rewritten = readableKubeMessage(message);
  if (rewritten !== message) return rewritten;
  if (e?.name === 'FetchError' && server) return `cannot reach the Kubernetes API at ${server}: ${message}`;
  return message;
}

function oneLine(text: string): string {
  return redact(text)
    .replace(credentialFields, '$1$2$3[REDACTED]')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}
