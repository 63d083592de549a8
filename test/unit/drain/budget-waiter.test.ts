import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { BudgetWaiter } from '../../../src/drain/budget-waiter.js';

/** A KubeConfig no test here may reach: a watch would only start for a pod that has to wait. */
function unreachable(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'none', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'none' }],
    contexts: [{ name: 'none', cluster: 'none', user: 'none' }],
    currentContext: 'none',
  });
  return kc;
}

function budget(name: string, app: string, allowed: number): k8s.V1PodDisruptionBudget {
  return {
    metadata: { name, namespace: 'shop', generation: 1 },
    spec: { selector: { matchLabels: { app } }, maxUnavailable: 1 },
    status: {
      disruptionsAllowed: allowed,
      observedGeneration: 1,
      currentHealthy: 3,
      desiredHealthy: 2,
      expectedPods: 3,
    },
  };
}

function pod(name: string, app: string, ready = true): k8s.V1Pod {
  return {
    metadata: { name, namespace: 'shop', labels: { app } },
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

const waiters: BudgetWaiter[] = [];
function seeded(...budgets: k8s.V1PodDisruptionBudget[]): BudgetWaiter {
  const waiter = new BudgetWaiter(unreachable());
  waiter.seed({ items: budgets, metadata: { resourceVersion: '42' } });
  waiters.push(waiter);
  return waiter;
}
const forever = () => Date.now() + 60_000;

afterEach(() => {
  for (const waiter of waiters.splice(0)) waiter.stop();
});

describe('BudgetWaiter.reserve', () => {
  it('hands out as many places as the budget allows, without waiting', async () => {
    // Prepare
    const waiter = seeded(budget('web', 'web', 2));

    // Act
    const first = await waiter.reserve(pod('web-1', 'web'), forever);
    const second = await waiter.reserve(pod('web-2', 'web'), forever);

    // Assess
    expect(first).toMatchObject({ budget: 'web', waited: false });
    expect(second).toMatchObject({ budget: 'web', waited: false });
  });

  it('gives a place back when the eviction was not accepted', async () => {
    // Prepare
    const waiter = seeded(budget('web', 'web', 1));
    const first = await waiter.reserve(pod('web-1', 'web'), forever);

    // Act
    first!.settle('other');
    const second = await waiter.reserve(pod('web-2', 'web'), forever);

    // Assess
    expect(second).toMatchObject({ budget: 'web', waited: false });
  });

  it('does not pace a pod that is not Ready: the budget does not count it, the API server decides', async () => {
    // Prepare: a budget with no room at all
    const waiter = seeded(budget('web', 'web', 0));

    // Act
    const ticket = await waiter.reserve(pod('web-1', 'web', false), forever);

    // Assess
    expect(ticket).toBeUndefined();
  });

  it('does not pace a pod under no budget, or under two (the API refuses those outright)', async () => {
    // Prepare
    const waiter = seeded(budget('web', 'web', 0), {
      ...budget('all', 'web', 0),
      metadata: { name: 'all', namespace: 'shop' },
    });
    const alone = seeded(budget('web', 'web', 0));

    // Act
    const underTwo = await waiter.reserve(pod('web-1', 'web'), forever);
    const underNone = await alone.reserve(pod('api-1', 'api'), forever);

    // Assess
    expect(underTwo).toBeUndefined();
    expect(underNone).toBeUndefined();
  });

  it('paces nothing before the budgets were listed', async () => {
    // Prepare
    const waiter = new BudgetWaiter(unreachable());
    waiters.push(waiter);

    // Act
    const ticket = await waiter.reserve(pod('web-1', 'web'), forever);

    // Assess
    expect(ticket).toBeUndefined();
  });

  it('lets a pod that found no room go when time runs out, saying it waited', async () => {
    // Prepare: no room, and the stop time already here
    const waiter = seeded(budget('web', 'web', 0));

    // Act
    const ticket = await waiter.reserve(pod('web-1', 'web'), () => Date.now());

    // Assess
    expect(ticket).toMatchObject({ budget: 'web', waited: true });
  });
});
