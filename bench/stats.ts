/** The median of the samples (the mean of the middle two for an even count); NaN when there are none. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** ours / theirs, or NaN when either side is missing or theirs is zero. */
export function ratio(ours: number, theirs: number): number {
  return Number.isFinite(ours) && Number.isFinite(theirs) && theirs !== 0 ? ours / theirs : Number.NaN;
}

export function min(samples: readonly number[]): number {
  return samples.length === 0 ? Number.NaN : Math.min(...samples);
}

export function max(samples: readonly number[]): number {
  return samples.length === 0 ? Number.NaN : Math.max(...samples);
}

/** A duration for a table: "2 563 ms" below ten seconds, "24.1 s" above. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (Math.abs(ms) >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms).toLocaleString('en-US').replace(/,/g, ' ')} ms`;
}

export function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '—';
}

/** Bytes as "1.23 MB" (10^6) with the exact count, so a reader can check either. */
export function formatBytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(2)} MB (${bytes.toLocaleString('en-US').replace(/,/g, ' ')} B)`;
}

/** A compact "median (min–max, n=5)" for the detail sections. */
export function spread(samples: readonly number[], format: (n: number) => string = formatMs): string {
  if (samples.length === 0) return '—';
  return `${format(median(samples))} (${format(min(samples))}–${format(max(samples))}, n=${samples.length})`;
}

/** The nearest-rank percentile (p in 0–100) of the samples: p99 of 100 samples is the 99th smallest. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

export function sum(samples: readonly number[]): number {
  return samples.reduce((total, n) => total + n, 0);
}
