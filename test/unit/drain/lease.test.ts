import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  acquireLease,
  type DrainLease,
  decideLease,
  excludeFromLoadBalancersLabel,
  type LeaseRequest,
  labelValue,
  leaseAnnotation,
  readLease,
  updateLeaseState,
} from '../../../src/drain/lease.js';
import { Action, NoticeKind } from '../../../src/types.js';
import { apiError, eksNode, fakeNodeApi } from '../../support/fake-kube.js';

const now = Date.parse('2025-06-05T07:00:30Z');
const eventId = '1e5527d7-bb36-4607-3370-4164db56a40e';

/** A lease another invocation holds, draining, unexpired; `change` edits a copy. */
function lease(change: Partial<DrainLease> = {}): DrainLease {
  return {
    eventId,
    kind: NoticeKind.SpotInterruption,
    action: Action.Drain,
    state: 'draining',
    holder: 'request-a',
    deadline: '2025-06-05T07:02:00.000Z',
    expiresAt: '2025-06-05T07:02:30.000Z',
    updatedAt: '2025-06-05T07:00:05.000Z',
    ...change,
  };
}

function request(change: Partial<LeaseRequest> = {}): LeaseRequest {
  return {
    eventId,
    kind: NoticeKind.SpotInterruption,
    action: Action.Drain,
    holder: 'request-b',
    deadline: Date.parse('2025-06-05T07:02:00Z'),
    ...change,
  };
}

describe('decideLease', () => {
  const cases: {
    name: string;
    existing: DrainLease | undefined;
    request: LeaseRequest;
    take: boolean;
    why: string;
  }[] = [
    { name: 'takes a node without a lease', existing: undefined, request: request(), take: true, why: 'new' },
    {
      name: 'lets the holder take its own lease again (Lambda retry of the same invocation)',
      existing: lease({ holder: 'request-b' }),
      request: request(),
      take: true,
      why: 'retry',
    },
    {
      name: 'lets the holder take its own finished lease again',
      existing: lease({ holder: 'request-b', state: 'drained' }),
      request: request(),
      take: true,
      why: 'retry',
    },
    {
      name: 'retries after a failed drain held by someone else',
      existing: lease({ state: 'failed' }),
      request: request(),
      take: true,
      why: 'retry',
    },
    {
      name: 'takes over an expired lease',
      existing: lease({ expiresAt: '2025-06-05T07:00:29.999Z' }),
      request: request(),
      take: true,
      why: 'takeover',
    },
    {
      name: 'does not take over a lease that expires this very millisecond',
      existing: lease({ expiresAt: '2025-06-05T07:00:30.000Z' }),
      request: request(),
      take: false,
      why: 'in-progress-elsewhere',
    },
    {
      name: 'upgrades a cordon to a drain',
      existing: lease({ action: Action.Cordon, state: 'cordoned', kind: NoticeKind.RebalanceRecommendation }),
      request: request({ eventId: 'spot-after-rebalance' }),
      take: true,
      why: 'upgrade',
    },
    {
      name: 'upgrades a cordon to a drain even for the same event id',
      existing: lease({ action: Action.Cordon, state: 'cordoned' }),
      request: request(),
      take: true,
      why: 'upgrade',
    },
    {
      name: 'leaves a drain in progress elsewhere alone',
      existing: lease(),
      request: request(),
      take: false,
      why: 'in-progress-elsewhere',
    },
    {
      name: 'leaves a drain in progress elsewhere alone when a cordon arrives',
      existing: lease(),
      request: request({ action: Action.Cordon, eventId: 'rebalance' }),
      take: false,
      why: 'in-progress-elsewhere',
    },
    {
      name: 'treats the same event after a finished drain as a duplicate delivery',
      existing: lease({ state: 'drained' }),
      request: request(),
      take: false,
      why: 'already-done',
    },
    {
      name: 'treats the same event after a drain that reached its deadline as a duplicate',
      existing: lease({ state: 'deadline-reached' }),
      request: request(),
      take: false,
      why: 'already-done',
    },
    {
      name: 'does nothing for a cordon after a finished drain',
      existing: lease({ state: 'drained' }),
      request: request({
        action: Action.Cordon,
        eventId: 'rebalance',
        kind: NoticeKind.RebalanceRecommendation,
      }),
      take: false,
      why: 'already-done',
    },
    {
      name: 'does nothing for a second cordon of another event',
      existing: lease({ action: Action.Cordon, state: 'cordoned' }),
      request: request({ action: Action.Cordon, eventId: 'rebalance-2' }),
      take: false,
      why: 'already-done',
    },
    {
      name: 'drains again for a new drain event after a finished drain',
      existing: lease({ state: 'drained' }),
      request: request({ eventId: 'asg-hook', kind: NoticeKind.AsgTerminate }),
      take: true,
      why: 'redrain',
    },
    {
      name: 'drains again for a new event after an incomplete drain',
      existing: lease({ state: 'incomplete' }),
      request: request({ eventId: 'state-change' }),
      take: true,
      why: 'redrain',
    },
  ];

  it.each(cases)('$name', ({ existing, request: input, take, why }) => {
    // Act
    const decision = decideLease(existing, input, now);

    // Assess
    expect(decision.take).toBe(take);
    expect(decision.why).toBe(why);
    if (!decision.take) expect(decision.lease).toBe(existing);
  });
});

describe('readLease', () => {
  const nodeWith = (annotation: string | undefined): k8s.V1Node => ({
    metadata: { name: 'n', annotations: annotation === undefined ? {} : { [leaseAnnotation]: annotation } },
  });

  it('reads a lease written as JSON', () => {
    // Prepare
    const written = lease();

    // Act
    const read = readLease(nodeWith(JSON.stringify(written)));

    // Assess
    expect(read).toEqual(written);
  });

  it.each([
    ['no annotation', undefined],
    ['an empty annotation', ''],
    ['garbage', 'not json {'],
    ['JSON null', 'null'],
    ['a number', '42'],
    ['an object without eventId', JSON.stringify({ expiresAt: '2025-06-05T07:02:30.000Z' })],
    ['an object without expiresAt', JSON.stringify({ eventId })],
    ['an eventId that is not a string', JSON.stringify({ eventId: 7, expiresAt: 'x' })],
  ])('treats %s as no lease', (_, annotation) => {
    // Act
    const read = readLease(nodeWith(annotation));

    // Assess
    expect(read).toBeUndefined();
  });

  it('reads a node without metadata as having no lease', () => {
    // Act + Assess
    expect(readLease({})).toBeUndefined();
  });
});

describe('labelValue', () => {
  it.each([
    ['keeps a UUID', eventId, eventId],
    ['keeps dots, dashes and underscores inside', 'a.b_c-d', 'a.b_c-d'],
    ['replaces illegal characters', 'event id/with:colons', 'event-id-with-colons'],
    ['trims leading and trailing non-alphanumerics', '--_.abc.-_', 'abc'],
    ['trims what replacement left at the ends', '/abc/', 'abc'],
    ['falls back to unknown for an empty string', '', 'unknown'],
    ['falls back to unknown when nothing alphanumeric remains', '//..--', 'unknown'],
    ['replaces non-ASCII letters', 'évènement', 'v-nement'],
  ])('%s', (_, input, expected) => {
    // Act
    const value = labelValue(input);

    // Assess
    expect(value).toBe(expected);
  });

  it('caps the value at 63 characters', () => {
    // Prepare
    const long = 'a'.repeat(100);

    // Act
    const value = labelValue(long);

    // Assess
    expect(value).toBe('a'.repeat(63));
  });

  it('trims a trailing dash that the 63-character cut exposed', () => {
    // Prepare: the 63rd character is an illegal one, replaced by a dash.
    const input = `${'b'.repeat(62)}/tail`;

    // Act
    const value = labelValue(input);

    // Assess
    expect(value).toBe('b'.repeat(62));
    expect(value).toMatch(/^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/);
  });
});

describe('acquireLease', () => {
  const options = { taintNode: true, excludeFromLoadBalancers: true };
  const nodeName = 'ip-10-0-0-1.ec2.internal';

  it('starts from the node the lookup already read, without a GET', async () => {
    // Prepare
    const fake = fakeNodeApi([eksNode(nodeName, 'i-0123456789abcdef0')]);
    const known = await fake.core.readNode({ name: nodeName });
    fake.calls.length = 0;

    // Act
    const result = await acquireLease(fake.core, nodeName, request(), options, () => now, known);

    // Assess
    expect(result).toMatchObject({ acquired: true });
    expect(fake.calls.map((c) => c.method)).toEqual(['patchNode']);
  });

  it('reads the node again when the known copy turns out stale (409)', async () => {
    // Prepare
    const fake = fakeNodeApi([eksNode(nodeName, 'i-0123456789abcdef0')]);
    const known = await fake.core.readNode({ name: nodeName });
    await fake.core.patchNode({ name: nodeName, body: { metadata: { labels: { touched: 'yes' } } } });
    fake.calls.length = 0;

    // Act
    const result = await acquireLease(fake.core, nodeName, request(), options, () => now, known);

    // Assess
    expect(result).toMatchObject({ acquired: true });
    expect(fake.calls.map((c) => c.method)).toEqual(['patchNode', 'readNode', 'patchNode']);
  });

  it('cordons, taints, labels and annotates the node in one patch', async () => {
    // Prepare
    const fake = fakeNodeApi([eksNode(nodeName, 'i-0123456789abcdef0')]);

    // Act
    const result = await acquireLease(fake.core, nodeName, request(), options, () => now);

    // Assess
    expect(result).toMatchObject({ acquired: true, why: 'new' });
    expect(fake.calls.filter((c) => c.method === 'patchNode')).toHaveLength(1);
    const node = fake.nodes.get(nodeName)!;
    expect(node.spec?.unschedulable).toBe(true);
    expect(node.spec?.taints).toEqual([
      {
        key: 'eks-spot-drainer/spot-interruption',
        value: eventId,
        effect: 'NoSchedule',
        timeAdded: new Date(now),
      },
    ]);
    expect(node.metadata?.labels?.[excludeFromLoadBalancersLabel]).toBe('true');
    expect(readLease(node)).toEqual({
      eventId,
      kind: 'spot-interruption',
      action: 'drain',
      state: 'draining',
      holder: 'request-b',
      deadline: '2025-06-05T07:02:00.000Z',
      expiresAt: '2025-06-05T07:02:30.000Z',
      updatedAt: '2025-06-05T07:00:30.000Z',
    });
  });

  it('keeps other taints and sets neither taint nor label when switched off', async () => {
    // Prepare
    const node = eksNode(nodeName, 'i-0123456789abcdef0');
    node.spec!.taints = [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }];
    const fake = fakeNodeApi([node]);

    // Act
    await acquireLease(fake.core, nodeName, request({ action: Action.Cordon }), {
      taintNode: false,
      excludeFromLoadBalancers: false,
    });

    // Assess
    const marked = fake.nodes.get(nodeName)!;
    expect(marked.spec?.taints).toEqual([{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]);
    expect(marked.metadata?.labels?.[excludeFromLoadBalancersLabel]).toBeUndefined();
    expect(readLease(marked)?.state).toBe('cordoned');
  });

  it('reads and decides again when another writer changed the node first', async () => {
    // Prepare: between our read and our patch, invocation A takes the lease.
    const fake = fakeNodeApi([eksNode(nodeName, 'i-0123456789abcdef0')]);
    const readNode = fake.core.readNode.bind(fake.core);
    let reads = 0;
    fake.core.readNode = (async (args: { name: string }) => {
      const node = await readNode(args);
      if (reads++ === 0) {
        await fake.core.patchNode({
          name: nodeName,
          body: { metadata: { annotations: { [leaseAnnotation]: JSON.stringify(lease()) } } },
        });
      }
      return node;
    }) as typeof fake.core.readNode;

    // Act
    const result = await acquireLease(fake.core, nodeName, request(), options, () => now);

    // Assess
    expect(result).toMatchObject({
      acquired: false,
      why: 'in-progress-elsewhere',
      lease: { holder: 'request-a' },
    });
    expect(reads).toBe(2);
  });

  it('reports a node that is gone', async () => {
    // Prepare
    const fake = fakeNodeApi([]);

    // Act
    const result = await acquireLease(fake.core, nodeName, request(), options);

    // Assess
    expect(result).toEqual({ acquired: false, why: 'node-gone' });
  });

  it('throws what it cannot handle', async () => {
    // Prepare
    const fake = fakeNodeApi([eksNode(nodeName, 'i-0123456789abcdef0')]);
    fake.core.patchNode = (async () => {
      throw apiError(403, { reason: 'Forbidden', message: 'nodes is forbidden' });
    }) as typeof fake.core.patchNode;

    // Act
    const acquiring = acquireLease(fake.core, nodeName, request(), options);

    // Assess
    await expect(acquiring).rejects.toMatchObject({ code: 403 });
  });
});

describe('updateLeaseState', () => {
  it('records the new state on the node', async () => {
    // Prepare
    const nodeName = 'ip-10-0-0-2.ec2.internal';
    const fake = fakeNodeApi([eksNode(nodeName, 'i-0fedcba9876543210')]);

    // Act
    const updated = await updateLeaseState(fake.core, nodeName, lease(), 'drained', () => now + 1_000);

    // Assess
    expect(updated).toEqual(lease({ state: 'drained', updatedAt: '2025-06-05T07:00:31.000Z' }));
    expect(readLease(fake.nodes.get(nodeName)!)).toEqual(updated);
  });

  it('does not fail when the node is gone', async () => {
    // Act
    const updated = await updateLeaseState(fakeNodeApi([]).core, 'gone', lease(), 'failed');

    // Assess
    expect(updated.state).toBe('failed');
  });
});
