/**
 * Reading failures of the Kubernetes API. client-node throws ApiException with `.code` and `.body`
 * (a JSON string of a metav1.Status); minified bundles rename classes, so nothing here relies on
 * `instanceof` or constructor names.
 */

export interface KubeStatus {
  code: number | undefined;
  reason: string | undefined;
  message: string | undefined;
  causes: { reason?: string; message?: string }[];
  retryAfterSeconds: number | undefined;
}

/** The HTTP status of a failed API call, or undefined when the request never got an answer. */
export function httpStatusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' && code >= 100 && code < 600 ? code : undefined;
}

/** The metav1.Status carried by an API error, as far as it can be read. */
export function kubeStatusOf(error: unknown): KubeStatus {
  const raw = (error as { body?: unknown } | null)?.body;
  let body: Record<string, unknown> = {};
  if (typeof raw === 'string') {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
    } catch {
      body = { message: raw.slice(0, 500) };
    }
  } else if (raw && typeof raw === 'object') {
    body = raw as Record<string, unknown>;
  }
  const details = (body.details ?? {}) as { causes?: unknown; retryAfterSeconds?: unknown };
  const headers = (error as { headers?: Record<string, string> } | null)?.headers ?? {};
  const headerRetry = Number.parseInt(headers['retry-after'] ?? headers['Retry-After'] ?? '', 10);
  return {
    code: httpStatusOf(error),
    reason: typeof body.reason === 'string' ? body.reason : undefined,
    message: typeof body.message === 'string' ? body.message : undefined,
    causes: Array.isArray(details.causes) ? (details.causes as KubeStatus['causes']) : [],
    retryAfterSeconds:
      typeof details.retryAfterSeconds === 'number'
        ? details.retryAfterSeconds
        : Number.isFinite(headerRetry)
          ? headerRetry
          : undefined,
  };
}

/** Retry-After in milliseconds, from the header or the Status details. */
export function retryAfterMsOf(error: unknown): number | undefined {
  const seconds = kubeStatusOf(error).retryAfterSeconds;
  return seconds === undefined ? undefined : seconds * 1_000;
}

/**
 * Whether another attempt may succeed: throttling (429 without a disruption budget), 5xx other than
 * the multi-budget refusal, request timeouts, and connections that broke or never opened.
 */
export function isTransientKubeError(error: unknown): boolean {
  const status = httpStatusOf(error);
  if (status === undefined) return isNetworkError(error);
  if (status === 429 || status === 408) return true;
  if (status >= 500) return !isMultiplePdbError(error);
  return false;
}

/** The eviction subresource refuses pods covered by more than one PodDisruptionBudget with a 500. */
export function isMultiplePdbError(error: unknown): boolean {
  if (httpStatusOf(error) !== 500) return false;
  return /more than one PodDisruptionBudget/i.test(kubeStatusOf(error).message ?? '');
}

function isNetworkError(error: unknown): boolean {
  const e = error as { name?: string; code?: unknown; type?: string; cause?: unknown } | null;
  if (!e) return false;
  if (e.name === 'AbortError' || e.name === 'TimeoutError' || e.type === 'aborted') return true;
  if (e.name === 'FetchError' || e.type === 'system' || e.type === 'request-timeout') return true;
  const code = typeof e.code === 'string' ? e.code : (e.cause as { code?: string } | undefined)?.code;
  return (
    typeof code === 'string' && /^(ECONN|EPIPE|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|UND_ERR|EHOSTUNREACH)/.test(code)
  );
}
