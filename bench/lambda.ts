import * as k8s from '@kubernetes/client-node';
import type { LambdaApp } from '../src/app/lambda-app.js';
import type { TestBedInfo } from '../test/bed/testbed.js';
import { lambdaEnv } from './world.js';

/**
 * Puts the function's Lambda environment into process.env (the SDK's credential chain reads it there,
 * as in Lambda) with logs and metrics quiet, and returns what puts the old one back.
 */
export function useLambdaEnvironment(bed: TestBedInfo): () => void {
  const saved = { ...process.env };
  Object.assign(process.env, lambdaEnv(bed), {
    // The bench prints a table; thousands of JSON log lines would bury it. Their cost is not the point.
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
  return () => {
    process.env = saved;
  };
}

/** Per-invocation timings of the app's own lookups, taken by wrapping them (bench-only instrumentation). */
export interface LookupTimings {
  describeInstanceMs: number[];
  connectMs: number[];
}

/** Wraps the instance lookup and the cluster connection of an app to time them. */
export function instrumentApp(app: LambdaApp): LookupTimings {
  const timings: LookupTimings = { describeInstanceMs: [], connectMs: [] };
  const source = app.deps.source;
  if (source.kind === 'ec2-tags') {
    const instances = source.instances;
    const get = instances.get.bind(instances);
    instances.get = async (...args) => {
      const started = performance.now();
      try {
        return await get(...args);
      } finally {
        timings.describeInstanceMs.push(performance.now() - started);
      }
    };
  }
  const access = app.deps.access;
  const connect = access.connect.bind(access);
  access.connect = async (...args) => {
    const started = performance.now();
    try {
      return await connect(...args);
    } finally {
      timings.connectMs.push(performance.now() - started);
    }
  };
  return timings;
}

/** A watch on one node, open before the measurement starts; says when it first sees it cordoned. */
export interface NodeWatch {
  /** performance.now() when an event with spec.unschedulable=true arrived. */
  cordoned: Promise<number>;
  stop(): void;
}

export async function watchNode(kc: k8s.KubeConfig, name: string): Promise<NodeWatch> {
  let seen: (at: number) => void = () => {};
  let open: () => void = () => {};
  const cordoned = new Promise<number>((resolve) => {
    seen = resolve;
  });
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const controller = await new k8s.Watch(kc).watch(
    '/api/v1/nodes',
    { fieldSelector: `metadata.name=${name}` },
    (type, node: k8s.V1Node) => {
      const at = performance.now();
      if (type === 'ADDED') open();
      if (node?.spec?.unschedulable) seen(at);
    },
    () => {},
  );
  await opened;
  return { cordoned, stop: () => controller.abort() };
}

/** Lambda's users reach the API server through the EKS token webhook: their names are IAM ARNs. */
export function isLambdaUser(user: string): boolean {
  return user.startsWith('arn:');
}
