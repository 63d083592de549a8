import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { selfSignedCertificate } from './tls.js';

/** What the proxy may do to a request instead of passing it on faithfully. */
export type KubeFault =
  /** 429 with Retry-After, as API Priority and Fairness answers under load. */
  | 'too-many-requests'
  /** 500 InternalError. */
  | 'internal-error'
  /** 503 ServiceUnavailable, as during an API server rollout. */
  | 'unavailable'
  /** Accept the request and never answer: only the client's own timeout ends it. */
  | 'stall'
  /** Pass the request on, let the API server act on it, then drop the connection without an answer. */
  | 'lost-response'
  /**
   * 409 as the eviction subresource answers when two evictions write one budget's status at once
   * (its own retries exhausted): "Operation cannot be fulfilled on poddisruptionbudgets.policy".
   */
  | 'budget-conflict'
  /** 403 as the eviction subresource answers while the disruption controller catches up. */
  | 'budget-forbidden';

export const kubeFaults: readonly KubeFault[] = [
  'too-many-requests',
  'internal-error',
  'unavailable',
  'stall',
  'lost-response',
  'budget-conflict',
  'budget-forbidden',
];

/** One request as the plan sees it; `n` counts every request the proxy received, from 1. */
export interface KubeRequestInfo {
  n: number;
  method: string;
  path: string;
  watch: boolean;
}

export interface KubeFaultPlan {
  /** Seed of the generator that picks the failing requests: the same seed gives the same draws. */
  seed?: number;
  /** Fraction of eligible requests answered with each fault (their sum must stay below 1). */
  rates?: Partial<Record<KubeFault, number>>;
  /** Retry-After, in seconds, of the 429s. */
  retryAfterSeconds?: number;
  /** Cut each watch stream this long after the API server began answering it. */
  cutWatchesAfterMs?: number;
  /** Stop passing on watch events this long after a watch began, but keep its connection open. */
  muteWatchesAfterMs?: number;
  /** Which requests may draw a fault (default: all). */
  eligible?: (request: KubeRequestInfo) => boolean;
  /** A fault for this request regardless of the rates (e.g. the first request of a kind). */
  force?: (request: KubeRequestInfo) => KubeFault | undefined;
}

/** What the proxy did with one request. */
export interface KubeProxyRecord extends KubeRequestInfo {
  fault: KubeFault | undefined;
  /** The status the client received; undefined when it received none (stall, lost response, cut). */
  status: number | undefined;
}

/**
 * An HTTPS proxy in front of the test bed's API server that answers a seeded fraction of requests
 * with 429/500/503, stalls or loses them, and cuts watch streams, so the drainer can be shown to
 * survive a misbehaving control plane. It terminates TLS with its own certificate (point the
 * drainer's kubeconfig at `server` with `caData`) and forwards to the real API server, Authorization
 * header included, so every request still runs as the drainer's own identity.
 */
export interface KubeFaultProxy {
  server: string;
  caData: string;
  records: KubeProxyRecord[];
  /** Watch requests received (each start or restart of a watch). */
  readonly watches: number;
  /** Watch streams the proxy cut. */
  readonly cutWatches: number;
  /** Watch streams the proxy silenced. */
  readonly mutedWatches: number;
  setPlan(plan: KubeFaultPlan): void;
  stop(): Promise<void>;
}

export async function startKubeFaultProxy(
  upstream: { server: string; caData: string },
  initialPlan: KubeFaultPlan = {},
): Promise<KubeFaultProxy> {
  const certificate = await selfSignedCertificate();
  const target = new URL(upstream.server);
  const agent = new Agent({ keepAlive: true, ca: Buffer.from(upstream.caData, 'base64') });
  const records: KubeProxyRecord[] = [];
  const held = new Set<ServerResponse>();
  const state = {
    plan: initialPlan,
    random: mulberry32(initialPlan.seed ?? 1),
    watches: 0,
    cutWatches: 0,
    mutedWatches: 0,
  };

  const pickFault = (info: KubeRequestInfo): KubeFault | undefined => {
    const forced = state.plan.force?.(info);
    if (forced) return forced;
    if (state.plan.eligible && !state.plan.eligible(info)) return undefined;
    // One draw per request, eligible or not, keeps the sequence a pure function of the seed.
    let draw = state.random();
    for (const fault of kubeFaults) {
      const rate = state.plan.rates?.[fault] ?? 0;
      if (draw < rate) return fault;
      draw -= rate;
    }
    return undefined;
  };

  const server = createServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://proxy');
    const info: KubeRequestInfo = {
      n: records.length + 1,
      method: req.method ?? 'GET',
      path: url.pathname,
      watch: url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1',
    };
    if (info.watch) state.watches++;
    const fault = pickFault(info);
    const record: KubeProxyRecord = { ...info, fault, status: undefined };
    records.push(record);
    switch (fault) {
      case 'too-many-requests':
        return answer(
          res,
          record,
          429,
          'TooManyRequests',
          'injected: too many requests, please try again later',
          {
            'retry-after': String(state.plan.retryAfterSeconds ?? 1),
          },
        );
      case 'internal-error':
        return answer(
          res,
          record,
          500,
          'InternalError',
          'injected: an error on the server has prevented the request',
        );
      case 'unavailable':
        return answer(
          res,
          record,
          503,
          'ServiceUnavailable',
          'injected: the server is currently unavailable',
        );
      case 'budget-conflict':
        return answer(
          res,
          record,
          409,
          'Conflict',
          'Operation cannot be fulfilled on poddisruptionbudgets.policy "injected": the object has been modified; please apply your changes to the latest version and try again',
        );
      case 'budget-forbidden':
        return answer(
          res,
          record,
          403,
          'Forbidden',
          'poddisruptionbudget.policy "injected" is forbidden: pdb disruptions allowed is negative',
        );
      case 'stall':
        req.resume();
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      default:
        forward(req, res, record, fault === 'lost-response');
    }
  });

  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    record: KubeProxyRecord,
    loseResponse: boolean,
  ) {
    const upstreamRequest = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
        agent: record.watch ? false : agent,
        ca: Buffer.from(upstream.caData, 'base64'),
      },
      (answer) => {
        if (loseResponse) {
          answer.resume();
          answer.on('end', () => res.destroy());
          return;
        }
        record.status = answer.statusCode;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        // The API server sends a watch's headers at once, before any event; so must we.
        if (record.watch) res.flushHeaders();
        answer.pipe(res);
        const muteAfter = state.plan.muteWatchesAfterMs;
        if (record.watch && muteAfter !== undefined && answer.statusCode === 200) {
          const timer = setTimeout(() => {
            state.mutedWatches++;
            answer.unpipe(res);
            answer.resume();
          }, muteAfter);
          res.on('close', () => clearTimeout(timer));
        }
        const cutAfter = state.plan.cutWatchesAfterMs;
        if (record.watch && cutAfter !== undefined && answer.statusCode === 200) {
          const timer = setTimeout(() => {
            state.cutWatches++;
            upstreamRequest.destroy();
            res.destroy();
          }, cutAfter);
          res.on('close', () => clearTimeout(timer));
        }
      },
    );
    upstreamRequest.on('error', () => res.destroy());
    res.on('close', () => {
      if (!upstreamRequest.writableEnded || record.watch) upstreamRequest.destroy();
    });
    req.pipe(upstreamRequest);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server: `https://127.0.0.1:${port}`,
    caData: certificate.caData,
    records,
    get watches() {
      return state.watches;
    },
    get cutWatches() {
      return state.cutWatches;
    },
    get mutedWatches() {
      return state.mutedWatches;
    },
    setPlan(plan) {
      state.plan = plan;
      state.random = mulberry32(plan.seed ?? 1);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answer(
  res: ServerResponse,
  record: KubeProxyRecord,
  code: number,
  reason: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  record.status = code;
  const status = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
    ...(code === 429 ? { details: { retryAfterSeconds: Number(headers['retry-after'] ?? 1) } } : {}),
  };
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(status));
}

/** A small seeded generator (mulberry32): deterministic draws in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A request's route with object names replaced by `*`, so that every pod's eviction is one route. */
export function routeOf(info: Pick<KubeRequestInfo, 'method' | 'path' | 'watch'>): string {
  const path = info.path.replace(/\/(namespaces|nodes|pods|events|poddisruptionbudgets)\/[^/]+/g, '/$1/*');
  return `${info.method} ${path}${info.watch ? ' (watch)' : ''}`;
}

/** A plan `force` that fails the first request of every route once, cycling through `faults`. */
export function failFirstOfEachRoute(
  faults: readonly KubeFault[],
): (info: KubeRequestInfo) => KubeFault | undefined {
  const seen = new Set<string>();
  return (info) => {
    const route = routeOf(info);
    if (seen.has(route)) return undefined;
    seen.add(route);
    return faults[(seen.size - 1) % faults.length];
  };
}
