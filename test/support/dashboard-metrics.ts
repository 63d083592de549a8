/**
 * The metrics a CloudWatch dashboard shows and the metrics an EMF document declares, in one shape, so a
 * test can check that every widget names a metric the function really writes, dimensions and all.
 */

/** One CloudWatch metric: a widget line, or what one EMF document declares. */
export interface MetricId {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
}

export interface WidgetMetric extends MetricId {
  widget: string;
  stat?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: dashboard bodies and EMF documents are untyped JSON.
type Json = any;

/** Every metric line of every metric widget: [namespace, name, dim, value, ..., options?]. */
export function dashboardMetrics(body: Json): WidgetMetric[] {
  return (body.widgets as Json[])
    .filter((widget) => widget.type === 'metric')
    .flatMap((widget) =>
      (widget.properties.metrics as Json[][]).map((line) => {
        const options = typeof line.at(-1) === 'object' ? (line.at(-1) as Json) : {};
        const [namespace, name, ...rest] = line.filter((part) => typeof part === 'string') as string[];
        if (!namespace || !name || rest.length % 2 !== 0) {
          throw new Error(`widget "${widget.properties.title}": unreadable metric ${JSON.stringify(line)}`);
        }
        const dimensions: Record<string, string> = {};
        for (let i = 0; i < rest.length; i += 2) dimensions[rest[i]!] = rest[i + 1]!;
        return { widget: widget.properties.title, namespace, name, dimensions, stat: options.stat };
      }),
    );
}

/** The metrics EMF documents declare: each metric once per dimension set, with the values logged. */
export function emfMetrics(documents: Json[]): MetricId[] {
  return documents
    .filter((doc) => doc?._aws?.CloudWatchMetrics)
    .flatMap((doc) =>
      (doc._aws.CloudWatchMetrics as Json[]).flatMap((directive) =>
        (directive.Dimensions as string[][]).flatMap((names) =>
          (directive.Metrics as Json[]).map((metric) => ({
            namespace: directive.Namespace as string,
            name: metric.Name as string,
            dimensions: Object.fromEntries(names.map((n) => [n, String(doc[n])])),
          })),
        ),
      ),
    );
}

/** A key that is equal for equal metrics, whatever the order of their dimensions. */
export function metricKey(metric: MetricId): string {
  const dims = Object.entries(metric.dimensions).sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify([metric.namespace, metric.name, dims]);
}
