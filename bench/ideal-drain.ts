import * as k8s from '@kubernetes/client-node';
import { kubeConfigFor, statusOf } from '../test/bed/kube.js';
import type { NodeDrain } from './burst-report.js';
import type { BurstWorld } from './burst-world.js';
import type { BenchContext } from './types.js';

/** A request refused this often in a row is given up: the floor must end even on a broken bed. */
const maxAttempts = 50;
/** As long as kubectl's drains are given (kubectl.ts). */
const timeoutMs = 300_000;

/**
 * The floor of a burst: an ideal client, not a product. It knows every pod before the clock starts
 * (no list), cordons every node and posts every eviction at once, with no pacing and no wait (a 429
 * or a 5xx is asked again at once), as the drainer. A node counts as drained when a watch opened
 * before the clock saw its last pod deleted: the same end as ours (the invocation returns once the
 * pods are gone) and kubectl's (it waits for them too). Nothing a real client can go below, short of
 * a faster API server.
 */
export async function drainIdeal(context: BenchContext, world: BurstWorld): Promise<NodeDrain[]> {
  const cluster = context.bed.info.cluster;
  const drainer = kubeConfigFor(cluster, 'drainer');
  const core = drainer.makeApiClient(k8s.CoreV1Api);
  const names = new Set(world.nodes.map((n) => n.name));
  const pods = (await context.admin.core.listNamespacedPod({ namespace: world.namespace })).items.filter(
    (p) => names.has(p.spec?.nodeName ?? ''),
  );
  const left = new Map(world.nodes.map((n) => [n.name, new Set<string>()]));
  for (const pod of pods) left.get(pod.spec!.nodeName!)!.add(pod.metadata!.name!);
  const drains = new Map<string, NodeDrain>();
  let started = 0;
  let allGone: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allGone = resolve;
  });
  const finish = (node: string, ok: boolean, detail: string) => {
    if (drains.has(node)) return;
    drains.set(node, { node, finishedMs: performance.now() - started, ok, detail });
    if (drains.size === world.nodes.length) allGone();
  };
  const watch = await openPodWatch(context, world.namespace, (pod) => {
    const node = pod.spec?.nodeName ?? '';
    const rest = left.get(node);
    if (!rest?.delete(pod.metadata?.name ?? '') || rest.size > 0 || started === 0) return;
    finish(node, true, 'drained');
  });
  try {
    started = performance.now();
    const cordon = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    await Promise.all([
      ...world.nodes.map((n) =>
        again(() => core.patchNode({ name: n.name, body: { spec: { unschedulable: true } } }, cordon)).catch(
          (error: unknown) => finish(n.name, false, `cordon: ${String(error)}`.slice(0, 200)),
        ),
      ),
      ...pods.map((p) => {
        const { name, namespace } = p.metadata as { name: string; namespace: string };
        return again(() =>
          core.createNamespacedPodEviction({ name, namespace, body: { metadata: { name, namespace } } }),
        ).catch((error: unknown) =>
          finish(p.spec!.nodeName!, false, `evict: ${String(error)}`.slice(0, 200)),
        );
      }),
    ]);
    // Pods deleted before `started` was set (none are expected) would never be seen again.
    for (const [node, rest] of left) if (rest.size === 0) finish(node, true, 'drained');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([done, timedOut]);
    clearTimeout(timer);
    for (const [node, rest] of left) finish(node, false, `${rest.size} pods not gone in ${timeoutMs} ms`);
  } finally {
    watch.abort();
  }
  return world.nodes.map((n) => drains.get(n.name)!);
}

/** A request asked again at once on 429, 5xx or a dropped connection; 404 (already gone) is success. */
async function again(request: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await request();
      return;
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return;
      const retriable = status === undefined || status === 429 || status >= 500;
      if (!retriable || attempt >= maxAttempts) throw error;
    }
  }
}

/** A watch of the namespace's pods, as admin (its requests are not the floor's), open before it returns. */
async function openPodWatch(
  context: BenchContext,
  namespace: string,
  onDeleted: (pod: k8s.V1Pod) => void,
): Promise<AbortController> {
  const list = await context.admin.core.listNamespacedPod({ namespace, limit: 1 });
  return new k8s.Watch(kubeConfigFor(context.bed.info.cluster, 'admin')).watch(
    `/api/v1/namespaces/${namespace}/pods`,
    { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
    (type, pod: k8s.V1Pod) => {
      if (type === 'DELETED') onDeleted(pod);
    },
    () => {},
  );
}
