import { describe, expect, it } from 'vitest';
import { EvictionWindow } from '../../../src/drain/eviction-window.js';

/** A clock the test moves by hand. */
function clock(start = 0) {
  let at = start;
  return { now: () => at, advance: (ms: number) => (at += ms) };
}

/** Admits `count` requests as far as the window lets them, without waiting for the rest. */
async function admitted(window: EvictionWindow, count: number) {
  const granted: ((answer: 'answered' | 'congested' | 'neutral') => void)[] = [];
  for (let i = 0; i < count; i++) void window.admit().then((done) => granted.push(done));
  await new Promise((r) => setImmediate(r));
  return granted;
}

describe('EvictionWindow', () => {
  it('lets the initial number through, and the rest as places come back', async () => {
    // Prepare
    const time = clock();
    const window = new EvictionWindow({ initial: 4 }, time.now);

    // Act
    const first = await admitted(window, 10);
    time.advance(10);
    first[0]!('answered');
    await new Promise((r) => setImmediate(r));

    // Assess: 4 at first; one quick answer frees its place and grows the window by one
    expect(first.length).toBe(6);
    expect(window.limit).toBe(5);
  });

  it('doubles every round trip while the API server answers quickly', async () => {
    // Prepare
    const time = clock();
    const window = new EvictionWindow({ initial: 8 }, time.now);

    // Act: one round trip of 8 quick answers
    const round = await admitted(window, 8);
    time.advance(20);
    for (const done of round) done('answered');

    // Assess
    expect(window.limit).toBe(16);
  });

  it('halves once per round trip when answers come slowly or throttled', async () => {
    // Prepare
    const time = clock();
    const window = new EvictionWindow({ initial: 16, slowMs: 2_000 }, time.now);
    const round = await admitted(window, 16);

    // Act: the whole round trip answered after 5 s in the server's queue, one of them a 429
    time.advance(5_000);
    round[0]!('congested');
    for (const done of round.slice(1)) done('answered');

    // Assess: one cut for the round trip, not sixteen, and the window says it was cut
    expect(window.limit).toBe(8);
    expect(window.cut).toBe(true);
  });

  it('says it was never cut while the API server answers quickly', async () => {
    // Prepare
    const time = clock();
    const window = new EvictionWindow({ initial: 4 }, time.now);

    // Act
    const round = await admitted(window, 4);
    time.advance(20);
    for (const done of round) done('answered');

    // Assess
    expect(window.cut).toBe(false);
  });

  it('never goes below its minimum nor above its maximum', async () => {
    // Prepare
    const time = clock();
    const small = new EvictionWindow({ initial: 2, min: 2 }, time.now);
    const large = new EvictionWindow({ initial: 4, max: 5 }, time.now);

    // Act
    for (let i = 0; i < 5; i++) {
      const [done] = await admitted(small, 1);
      time.advance(1);
      done!('congested');
    }
    for (let i = 0; i < 5; i++) {
      const [done] = await admitted(large, 1);
      done!('answered');
    }

    // Assess
    expect(small.limit).toBe(2);
    expect(large.limit).toBe(5);
  });

  it('leaves the window as it was for requests never sent', async () => {
    // Prepare
    const window = new EvictionWindow({ initial: 4 });
    const [done] = await admitted(window, 1);

    // Act
    done!('neutral');

    // Assess
    expect(window.limit).toBe(4);
  });

  it('lets a waiting request go when its signal aborts', async () => {
    // Prepare: a full window
    const window = new EvictionWindow({ initial: 1 });
    await admitted(window, 1);
    const abort = new AbortController();

    // Act
    const waiting = window.admit(abort.signal);
    abort.abort();

    // Assess: resolved, so the caller can see the abort and give its place back
    await expect(waiting).resolves.toBeTypeOf('function');
  });

  it('stops waiting for a place at the stop time', async () => {
    // Prepare: a full window
    const window = new EvictionWindow({ initial: 1 });
    await admitted(window, 1);
    const stopAt = Date.now() + 20;

    // Act
    const waiting = window.admit(undefined, () => stopAt);

    // Assess: resolved at the stop time, for the caller to see that time is up
    await expect(waiting).resolves.toBeTypeOf('function');
    expect(Date.now()).toBeGreaterThanOrEqual(stopAt - 1);
  });

  it('says when it is idle: nothing in flight, nobody waiting for a place', async () => {
    // Prepare
    const time = clock();
    const window = new EvictionWindow({ initial: 4 }, time.now);
    let told = 0;
    window.onIdle(() => told++);

    // Act: 6 requests, 4 admitted; answering them lets the other 2 through, then those are answered
    const first = await admitted(window, 6);
    const busy = window.idle;
    for (const done of first.splice(0, 4)) done('answered');
    await new Promise((r) => setImmediate(r));
    const toldWhileTheRestRan = told;
    await new Promise((r) => setImmediate(r));
    for (const done of first) done('answered');
    await new Promise((r) => setImmediate(r));

    // Assess
    expect(busy).toBe(false);
    expect(toldWhileTheRestRan).toBe(0);
    expect(window.idle).toBe(true);
    expect(told).toBeGreaterThan(0);
  });
});
