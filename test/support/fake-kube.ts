/**
 * Fakes of the Kubernetes API for unit tests: errors shaped exactly as client-node 1.x throws them,
 * and an in-memory node store that answers the node calls the app makes (read, list with paging,
 * merge patch with the resourceVersion guard, events). Pod calls are deliberately absent: a unit
 * test that needs them belongs in test/integration.
 */
import * as k8s from '@kubernetes/client-node';

/** A client-node ApiException as the generated clients throw it: the body is the response text. */
export function apiError(
  code: number,
  status: Partial<{ reason: string; message: string; details: unknown }> | string = {},
  headers: Record<string, string> = {},
): k8s.ApiException<unknown> {
  const body =
    typeof status === 'string'
      ? status
      : JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, ...status });
  return new k8s.ApiException(code, 'Unknown API Status Code!', body, headers);
}

/** A node-fetch FetchError as client-node surfaces a broken connection. */
export function fetchError(code = 'ECONNRESET'): Error {
  return Object.assign(new Error(`request to https://10.0.0.1/api failed, reason: ${code}`), {
    name: 'FetchError',
    type: 'system',
    code,
    errno: code,
  });
}

/** A node as EKS registers it: named after the private DNS name, providerID aws:///<az>/<id>. */
export function eksNode(
  name: string,
  instanceId: string,
  options: { zone?: string; labels?: Record<string, string>; annotations?: Record<string, string> } = {},
): k8s.V1Node {
  const zone = options.zone ?? 'us-east-1a';
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      uid: `uid-${name}`,
      resourceVersion: '1',
      labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': zone, ...options.labels },
      annotations: { ...options.annotations },
    },
    spec: { providerID: `aws:///${zone}/${instanceId}` },
  };
}

export interface FakeNodeApi {
  /** Pass as `core`: only the node and event calls exist. */
  core: k8s.CoreV1Api;
  nodes: Map<string, k8s.V1Node>;
  calls: { method: string; args: unknown }[];
  events: k8s.CoreV1Event[];
}

/**
 * An in-memory node store. listNode honours `labelSelector` (comma-separated key=value only) and pages
 * by `limit` with `_continue` tokens; patchNode applies a merge patch and answers 409 when the patch
 * carries a stale resourceVersion, like the API server.
 */
export function fakeNodeApi(initial: k8s.V1Node[] = []): FakeNodeApi {
  const nodes = new Map(initial.map((n) => [n.metadata!.name!, structuredClone(n)]));
  const calls: FakeNodeApi['calls'] = [];
  const events: k8s.CoreV1Event[] = [];
  const notFound = (name: string) =>
    apiError(404, { reason: 'NotFound', message: `nodes "${name}" not found` });

  const core = {
    async readNode(args: { name: string }) {
      calls.push({ method: 'readNode', args });
      const node = nodes.get(args.name);
      if (!node) throw notFound(args.name);
      return structuredClone(node);
    },
    async listNode(args: { labelSelector?: string; limit?: number; _continue?: string } = {}) {
      calls.push({ method: 'listNode', args });
      const wanted = (args.labelSelector ?? '')
        .split(',')
        .filter(Boolean)
        .map((term) => term.split('=') as [string, string]);
      const matching = [...nodes.values()].filter((n) =>
        wanted.every(([key, value]) => n.metadata?.labels?.[key] === value),
      );
      const start = Number(args._continue ?? 0);
      const end = args.limit ? start + args.limit : matching.length;
      return {
        items: matching.slice(start, end).map((n) => structuredClone(n)),
        metadata: { _continue: end < matching.length ? String(end) : undefined },
      };
    },
    async patchNode(args: { name: string; body: Record<string, unknown> }) {
      calls.push({ method: 'patchNode', args });
      const node = nodes.get(args.name);
      if (!node) throw notFound(args.name);
      const patch = args.body as { metadata?: { resourceVersion?: string } };
      const wantedVersion = patch.metadata?.resourceVersion;
      if (wantedVersion !== undefined && wantedVersion !== node.metadata?.resourceVersion) {
        throw apiError(409, { reason: 'Conflict', message: 'the object has been modified' });
      }
      const merged = mergePatch(node, args.body) as k8s.V1Node;
      merged.metadata!.resourceVersion = String(Number(node.metadata?.resourceVersion ?? 0) + 1);
      nodes.set(args.name, merged);
      return structuredClone(merged);
    },
    async createNamespacedEvent(args: { namespace: string; body: k8s.CoreV1Event }) {
      calls.push({ method: 'createNamespacedEvent', args });
      events.push(args.body);
      return args.body;
    },
  };
  return { core: core as unknown as k8s.CoreV1Api, nodes, calls, events };
}

/** RFC 7386 JSON merge patch (null deletes; arrays replace). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return structuredClone(patch);
  const base =
    typeof target === 'object' && target !== null && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key];
    else if (value !== undefined) base[key] = mergePatch(base[key], value);
  }
  return base;
}
