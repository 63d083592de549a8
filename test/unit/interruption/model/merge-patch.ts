/** RFC 7386 JSON merge patch, as the API server applies `application/merge-patch+json` to a node. */
export function applyMergePatch<T>(target: T, patch: unknown): T {
  return merge(structuredClone(target), patch) as T;
}

function merge(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? (target as Record<string, unknown>)
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else if (value !== undefined) result[key] = merge(result[key], value);
  }
  return result;
}
