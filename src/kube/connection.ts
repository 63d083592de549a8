import http from 'node:http';
import https from 'node:https';
import type { RequestContext, SecurityAuthentication } from '@kubernetes/client-node';
import { UsageError } from '../errors.js';
import type { ClusterEndpoint } from '../types.js';
import * as k8s from './client-node.js';

/** The Kubernetes API clients one drain needs, sharing one pool of keep-alive connections. */
export interface KubeApis {
  /** The in-memory config behind the clients; the watch client reads it. */
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  policy: k8s.PolicyV1Api;
  /** Only to ask whether a DaemonSet pod's DaemonSet still exists. */
  apps: k8s.AppsV1Api;
  /** Only for the disruption budget's lock (one named Lease). */
  coordination: k8s.CoordinationV1Api;
  /** Only to list the VolumeAttachments of a drained node (src/kube/volume-attachments.ts). */
  storage: k8s.StorageV1Api;
  /** Closes the pooled connections (a warm Lambda container keeps them between invocations). */
  close(): void;
}

/**
 * Longer than the API server keeps a request in a priority-and-fairness queue (a quarter of its
 * 60 s request timeout: 15 s). A client that gives up first re-sends the request to the back of the
 * same queue: in a wave of drains that doubled the requests without serving one more. Past 15 s the
 * server itself answers 429 with Retry-After, which the callers honour.
 */
export const defaultRequestTimeoutMs = 20_000;

export interface ConnectionOptions {
  /**
   * Every request is aborted this long after it gets a socket (time queued for one does not count);
   * retries happen above, within the deadline.
   */
  requestTimeoutMs?: number;
  /** Upper bound on parallel connections: a 110-pod node is drained with one eviction per pod in flight. */
  maxSockets?: number;
}

/** An in-memory client-node config for an EKS cluster and a bearer token. Nothing touches disk. */
export function kubeConfigForEndpoint(endpoint: ClusterEndpoint, token: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: endpoint.name,
        server: endpoint.endpoint,
        caData: endpoint.certificateAuthorityData,
        skipTLSVerify: false,
      },
    ],
    users: [{ name: 'eks-spot-drainer', token }],
    contexts: [{ name: endpoint.name, cluster: endpoint.name, user: 'eks-spot-drainer' }],
    currentContext: endpoint.name,
  });
  return kc;
}

/**
 * A client-node config from a kubeconfig file (default: $KUBECONFIG or ~/.kube/config) and
 * optionally a context; for the CLI, the local demo and self-managed clusters.
 */
export function kubeConfigFromFile(path?: string, context?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (error) {
    throw new UsageError(`cannot read kubeconfig ${path ?? '(default)'}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (context) {
    if (!kc.getContextObject(context)) {
      throw new UsageError(`kubeconfig has no context "${context}"`);
    }
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) {
    throw new UsageError(`kubeconfig ${path ?? '(default)'} has no current cluster; pass --context`);
  }
  return kc;
}

/**
 * Builds the API clients with one keep-alive agent per cluster. client-node 1.x makes a new agent,
 * hence a new TLS handshake, for every request; across a 110-pod drain that costs more than the drain.
 */
export function createKubeApis(kc: k8s.KubeConfig, options: ConnectionOptions = {}): KubeApis {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new UsageError('the Kubernetes config has no current cluster');
  const auth = new PooledAuthentication(kc, options.maxSockets ?? 128);
  const timeoutMs = options.requestTimeoutMs ?? defaultRequestTimeoutMs;
  const configuration = k8s.createConfiguration({
    baseServer: new k8s.ServerConfiguration(cluster.server, {}),
    authMethods: { default: auth },
    promiseMiddleware: [
      {
        pre: async (context) => {
          // Runs after the authentication above has set the pooled agent on the context.
          const timeout = new AbortController();
          const startClock = () => {
            setTimeout(() => timeout.abort(), timeoutMs).unref();
          };
          const pool = context.getAgent();
          if (pool) context.setAgent(clockOnSocket(pool, startClock));
          else startClock();
          context.setSignal(timeout.signal);
          return context;
        },
        post: async (response) => response,
      },
    ],
  });
  return {
    kc,
    core: new k8s.CoreV1Api(configuration),
    policy: new k8s.PolicyV1Api(configuration),
    apps: new k8s.AppsV1Api(configuration),
    coordination: new k8s.CoordinationV1Api(configuration),
    storage: new k8s.StorageV1Api(configuration),
    close: () => auth.close(),
  };
}

/** What node:http calls on `options.agent` for each request; absent from the Agent typings. */
interface RequestQueue {
  addRequest(request: http.ClientRequest, options: unknown): void;
}

/**
 * The pool as one request sees it: the same sockets and settings, but `onSocket` runs once the
 * request holds a socket (new or reused), which is when it starts being sent. A request queued behind
 * maxSockets busy ones has sent nothing: a clock started before that wait would time healthy requests
 * out in a burst, and their retries would queue again.
 */
function clockOnSocket(pool: http.Agent, onSocket: () => void): http.Agent {
  const queue = pool as http.Agent & RequestQueue;
  // Every other property (keepAlive, maxSockets, protocol, ...) is read from the pool itself.
  return Object.create(pool, {
    addRequest: {
      value(request: http.ClientRequest, options: unknown) {
        request.once('socket', onSocket);
        queue.addRequest(request, options);
      },
    },
  }) as http.Agent;
}

/** client-node's authentication (token, exec plugin, client certificate) with a shared agent. */
class PooledAuthentication implements SecurityAuthentication {
  private agent: http.Agent | undefined;

  constructor(
    private readonly kc: k8s.KubeConfig,
    private readonly maxSockets: number,
  ) {}

  getName(): string {
    return 'pooled';
  }

  async applySecurityAuthentication(context: RequestContext): Promise<void> {
    if (this.kc.getCurrentCluster()?.proxyUrl) {
      // Proxies need client-node's own agents; correctness over connection reuse.
      return this.kc.applySecurityAuthentication(context);
    }
    const options: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(options);
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) context.setHeaderParam(name, String(value));
    }
    if (options.auth) {
      context.setHeaderParam('Authorization', `Basic ${Buffer.from(options.auth).toString('base64')}`);
    }
    this.agent ??= this.createAgent(options);
    context.setAgent(this.agent);
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  private createAgent(options: https.RequestOptions): http.Agent {
    const pool = { keepAlive: true, maxSockets: this.maxSockets, scheduling: 'lifo' as const };
    if (this.kc.getCurrentCluster()?.server.startsWith('http://')) return new http.Agent(pool);
    return new https.Agent({
      ...pool,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      pfx: options.pfx,
      passphrase: options.passphrase,
      servername: options.servername,
      rejectUnauthorized: options.rejectUnauthorized,
    });
  }
}
