import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { EventWriter } from '../../../src/kube/event-writer.js';

/** A CoreV1Api that holds each Event write until `release`, failing those named `fail-...`. */
function heldCore() {
  const written: { namespace: string; body: k8s.CoreV1Event }[] = [];
  const held: (() => void)[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const core = {
    createNamespacedEvent: (request: { namespace: string; body: k8s.CoreV1Event }) => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      return new Promise<k8s.CoreV1Event>((resolve, reject) => {
        held.push(() => {
          inFlight--;
          if (request.body.involvedObject.name?.startsWith('fail-')) reject(new Error('HTTP 403'));
          else {
            written.push(request);
            resolve(request.body);
          }
        });
      });
    },
  } as unknown as k8s.CoreV1Api;
  const releaseAll = async () => {
    while (held.length > 0) {
      held.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { core, written, releaseAll, mostInFlight: () => mostInFlight };
}

describe('EventWriter', () => {
  it("writes a pod's Event in its namespace, about the pod, as this project", async () => {
    // Prepare
    const api = heldCore();
    const writer = new EventWriter(api.core, 'req-1');

    // Act
    writer.write({ kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'u1' }, 'DrainEviction', 'Evicted');
    await api.releaseAll();
    await writer.flush(100);

    // Assess
    expect(api.written).toHaveLength(1);
    expect(api.written[0]).toMatchObject({
      namespace: 'shop',
      body: {
        metadata: { namespace: 'shop' },
        involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: 'shop', name: 'web-1', uid: 'u1' },
        reason: 'DrainEviction',
        type: 'Normal',
        source: { component: 'eks-spot-drainer' },
        reportingComponent: 'eks-spot-drainer',
        reportingInstance: 'req-1',
      },
    });
    expect(api.written[0]?.body.metadata?.name).toMatch(/^web-1\.[0-9a-f]{16}$/);
  });

  it('writes at most maxInFlight at once and counts failures without throwing', async () => {
    // Prepare
    const api = heldCore();
    const writer = new EventWriter(api.core, 'req-1', 2);

    // Act
    for (const name of ['a', 'fail-b', 'c', 'd', 'e']) {
      writer.write({ kind: 'Pod', namespace: 'shop', name }, 'DrainEviction', 'Evicted');
    }
    await api.releaseAll();
    await writer.flush(100);

    // Assess
    expect(api.mostInFlight()).toBe(2);
    expect(api.written.map((w) => w.body.involvedObject.name)).toEqual(['a', 'c', 'd', 'e']);
    expect(writer.failures).toBe(1);
  });

  it('drops the writes still queued when a flush runs out of time, counting them', async () => {
    // Prepare
    const api = heldCore();
    const writer = new EventWriter(api.core, 'req-1', 1);
    for (const name of ['a', 'b', 'c']) {
      writer.write({ kind: 'Pod', namespace: 'shop', name }, 'DrainEviction', 'Evicted');
    }

    // Act
    await writer.flush(10);
    await api.releaseAll();

    // Assess
    expect(api.written.map((w) => w.body.involvedObject.name)).toEqual(['a']);
    expect(writer.failures).toBe(2);
  });

  it('cuts a message the API server would reject, and a name too long for an Event name', async () => {
    // Prepare
    const api = heldCore();
    const writer = new EventWriter(api.core, 'req-1');

    // Act
    writer.write({ kind: 'Node', name: 'n'.repeat(300) }, 'DrainStarted', 'x'.repeat(2_000));
    await api.releaseAll();
    await writer.flush(100);

    // Assess
    const body = api.written[0]?.body;
    expect(api.written[0]?.namespace).toBe('default');
    expect(body?.message).toHaveLength(1_000);
    expect(body?.metadata?.name?.length).toBeLessThanOrEqual(253);
  });

  it('holds its writes while mayStart says no, starts them on a poke once it says yes, and on a flush', async () => {
    // Prepare: writes wait while "evictions are in flight"
    const api = heldCore();
    let evicting = true;
    const writer = new EventWriter(api.core, 'req-1', 4, () => !evicting);
    const later = new EventWriter(api.core, 'req-2', 4, () => false);

    // Act
    for (const name of ['a', 'b'])
      writer.write({ kind: 'Pod', namespace: 'shop', name }, 'DrainEviction', 'Evicted');
    await api.releaseAll();
    const whileEvicting = api.written.length;
    writer.poke();
    await api.releaseAll();
    const pokedTooSoon = api.written.length;
    evicting = false;
    writer.poke();
    await api.releaseAll();
    later.write({ kind: 'Pod', namespace: 'shop', name: 'c' }, 'DrainEviction', 'Evicted');
    const flushed = later.flush(1_000);
    await api.releaseAll();
    await flushed;

    // Assess
    expect([whileEvicting, pokedTooSoon]).toEqual([0, 0]);
    expect(api.written.map((w) => w.body.involvedObject.name)).toEqual(['a', 'b', 'c']);
    expect(writer.failures + later.failures).toBe(0);
  });
});
