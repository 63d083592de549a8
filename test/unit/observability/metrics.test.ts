import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { noMetrics, powertoolsMetrics } from '../../../src/observability/metrics.js';

// biome-ignore lint/suspicious/noExplicitAny: EMF documents are untyped JSON.
type Emf = Record<string, any>;

let stdout: MockInstance<typeof process.stdout.write>;

/** The EMF documents Powertools wrote to stdout since the test began. */
function published(): Emf[] {
  return stdout.mock.calls
    .map(([chunk]) => String(chunk))
    .flatMap((text) => text.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Emf)
    .filter((doc) => doc._aws);
}

/** Metric name -> unit, from an EMF document's declaration. */
function declared(doc: Emf): Record<string, string> {
  return Object.fromEntries(
    doc._aws.CloudWatchMetrics.flatMap((d: Emf) => d.Metrics).map((m: Emf) => [m.Name, m.Unit]),
  );
}

function newMetrics() {
  const metrics = new Metrics({ namespace: 'EksSpotDrainerTest', serviceName: 'eks-spot-drainer' });
  return { metrics, sink: powertoolsMetrics(metrics) };
}

beforeEach(() => {
  stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('powertoolsMetrics', () => {
  it('publishes each notice at once, with its kind as a dimension', () => {
    // Prepare
    const { sink } = newMetrics();

    // Act
    sink.noticeReceived('spot-interruption');
    sink.noticeReceived('asg-terminate');

    // Assess
    const docs = published();
    expect(docs).toHaveLength(2);
    expect(docs.map((d) => [d.kind, d.NoticesReceived])).toEqual([
      ['spot-interruption', 1],
      ['asg-terminate', 1],
    ]);
    const [first] = docs;
    expect(first!._aws.CloudWatchMetrics[0].Namespace).toBe('EksSpotDrainerTest');
    expect(first!._aws.CloudWatchMetrics[0].Dimensions[0]).toContain('kind');
    expect(declared(first!)).toEqual({ NoticesReceived: 'Count' });
  });

  it('publishes rejected notices at once, with the reason as a dimension, and stores a count', () => {
    // Prepare
    const { metrics, sink } = newMetrics();

    // Act
    sink.rejected('wrong-account', 1);
    sink.rejected('too-many-instances', 7);
    metrics.publishStoredMetrics();

    // Assess
    const docs = published();
    expect(docs.slice(0, 2).map((d) => [d.reason, d.RejectedNotices])).toEqual([
      ['wrong-account', 1],
      ['too-many-instances', 7],
    ]);
    expect(declared(docs[0]!)).toEqual({ RejectedNotices: 'Count' });
    expect(docs[2]).toMatchObject({ Rejections: [1, 1] });
  });

  it('stores event counts until the handler publishes', () => {
    // Prepare
    const { metrics, sink } = newMetrics();

    // Act
    sink.invalidEvent();
    sink.ignoredEvent();
    sink.error();
    sink.error();
    const beforePublish = published().length;
    metrics.publishStoredMetrics();

    // Assess
    expect(beforePublish).toBe(0);
    const [doc] = published();
    expect(doc).toMatchObject({
      service: 'eks-spot-drainer',
      InvalidEvents: 1,
      IgnoredEvents: 1,
      Errors: [1, 1],
    });
    expect(declared(doc!)).toEqual({ InvalidEvents: 'Count', IgnoredEvents: 'Count', Errors: 'Count' });
  });

  it('reports a drain handed off as such, with the evictions it made and nothing it left', () => {
    // Prepare
    const { metrics, sink } = newMetrics();

    // Act
    sink.drainFinished({
      outcome: 'handed-off',
      podsEvicted: 7,
      podsBlocked: 2,
      podsFailed: 0,
      durationMs: 880_000,
      timeLeftMs: 3_000_000,
    });
    metrics.publishStoredMetrics();

    // Assess
    const [doc] = published();
    expect(doc).toMatchObject({ DrainsHandedOff: 1, PodsEvicted: 7 });
    expect(Object.keys(declared(doc!)).sort()).toEqual(['DrainsHandedOff', 'PodsEvicted']);
  });

  it.each([
    ['drained', { NodesDrained: 1 }, ['NodesCordoned', 'DrainsPastDeadline']],
    ['cordoned', { NodesCordoned: 1 }, ['NodesDrained', 'DrainsPastDeadline']],
    ['deadline-reached', { DrainsPastDeadline: 1 }, ['NodesDrained', 'NodesCordoned']],
    ['incomplete', {}, ['NodesDrained', 'NodesCordoned', 'DrainsPastDeadline']],
  ])('reports a %s drain', (outcome, counted, absent) => {
    // Prepare
    const { metrics, sink } = newMetrics();

    // Act
    sink.drainFinished({
      outcome,
      podsEvicted: 7,
      podsBlocked: 2,
      podsFailed: 1,
      durationMs: 41_250,
      timeLeftMs: 63_000,
    });
    metrics.publishStoredMetrics();

    // Assess
    const [doc] = published();
    expect(doc).toMatchObject({
      ...counted,
      PodsEvicted: 7,
      PodsBlocked: 2,
      PodsFailed: 1,
      DrainDuration: 41_250,
      TimeLeftAtFinish: 63_000,
    });
    for (const name of absent) expect(doc).not.toHaveProperty(name);
    expect(declared(doc!)).toMatchObject({
      DrainDuration: 'Milliseconds',
      TimeLeftAtFinish: 'Milliseconds',
      PodsEvicted: 'Count',
    });
  });

  it('reports an overrun as no time left, not a negative time', () => {
    // Prepare
    const { metrics, sink } = newMetrics();

    // Act
    sink.drainFinished({
      outcome: 'deadline-reached',
      podsEvicted: 0,
      podsBlocked: 3,
      podsFailed: 0,
      durationMs: 130_000,
      timeLeftMs: -4_000,
    });
    metrics.publishStoredMetrics();

    // Assess
    expect(published()[0]?.TimeLeftAtFinish).toBe(0);
  });

  it('counts the instances an event handed on, so a fan-out invocation publishes something', () => {
    // Prepare
    const { metrics, sink } = newMetrics();
    const warn = vi.spyOn(console, 'warn');

    // Act
    sink.fannedOut(3);
    metrics.publishStoredMetrics();

    // Assess
    expect(published()).toMatchObject([{ InstancesFannedOut: 3 }]);
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('noMetrics', () => {
  it('accepts every call and writes nothing', () => {
    // Act
    noMetrics.noticeReceived('spot-interruption');
    noMetrics.invalidEvent();
    noMetrics.ignoredEvent();
    noMetrics.rejected('stale', 1);
    noMetrics.error();
    noMetrics.fannedOut(2);
    noMetrics.drainFinished({
      outcome: 'drained',
      podsEvicted: 1,
      podsBlocked: 0,
      podsFailed: 0,
      durationMs: 1,
      timeLeftMs: 1,
    });

    // Assess
    expect(published()).toEqual([]);
  });
});
