import { describe, expect, it } from 'vitest';
import { isPlaceholder, notificationFacts, placeholderNames } from '../../../src/notify/facts.js';
import { NotificationEvent } from '../../../src/notify/types.js';
import { Action, NoticeKind } from '../../../src/types.js';
import { sampleInfo, sampleSummary } from './sample.js';

const info = sampleInfo;

const summary = sampleSummary({
  outcome: 'deadline-reached',
  blocked: 1,
  durationMs: 118_460,
  timeLeftMs: -1_540,
});

describe('notificationFacts', () => {
  it('gives every fact of a finished drain', () => {
    // Act
    const facts = notificationFacts({ event: NotificationEvent.Finished, info, summary });

    // Assess
    expect(facts).toEqual({
      event: 'drain-finished',
      text:
        'deadline-reached: node ip-10-0-1-5.ec2.internal (i-0123456789abcdef0) in cluster prod-a after ' +
        '1 min 58 s (Spot interruption warning): 4 evicted, 2 skipped, 1 blocked, 0 failed; 1.5 s past the deadline.',
      cluster: 'prod-a',
      node: 'ip-10-0-1-5.ec2.internal',
      instanceId: 'i-0123456789abcdef0',
      kind: 'spot-interruption',
      notice: 'Spot interruption warning',
      eventId: 'a1b2c3d4-0000-4000-8000-000000000001',
      deadline: '2025-03-01T12:02:00.000Z',
      action: 'drain',
      dryRun: false,
      outcome: 'deadline-reached',
      evicted: 4,
      skipped: 2,
      blocked: 1,
      failed: 0,
      durationSeconds: 118.5,
      timeLeftSeconds: -1.5,
    });
  });

  it('leaves what a starting drain has not got null, and a notice without deadline has none', () => {
    // Act
    const facts = notificationFacts({
      event: NotificationEvent.Started,
      info: {
        ...info,
        kind: NoticeKind.RebalanceRecommendation,
        deadline: undefined,
        action: Action.Cordon,
        dryRun: true,
      },
    });

    // Assess
    expect(facts).toMatchObject({
      event: 'drain-started',
      kind: 'rebalance-recommendation',
      deadline: null,
      action: 'cordon',
      dryRun: true,
      outcome: null,
      evicted: null,
      skipped: null,
      blocked: null,
      failed: null,
      durationSeconds: null,
      timeLeftSeconds: null,
    });
    expect(facts.text).toMatch(/^Dry run: would cordon node .*deadline none\.$/);
  });

  it('never escapes Slack markup: the facts are the names as they are', () => {
    // Act
    const facts = notificationFacts({
      event: NotificationEvent.Started,
      info: { ...info, nodeName: 'a<b>&c' },
    });

    // Assess
    expect(facts.node).toBe('a<b>&c');
    expect(facts.text).toContain('node a<b>&c (');
  });
});

describe('placeholderNames', () => {
  it('names every fact, and only those', () => {
    // Act
    const facts = notificationFacts({ event: NotificationEvent.Finished, info, summary });

    // Assess
    expect([...placeholderNames].sort()).toEqual(Object.keys(facts).sort());
    expect(placeholderNames.every(isPlaceholder)).toBe(true);
    expect(['toString', '__proto__', 'nodeName', ''].some(isPlaceholder)).toBe(false);
  });
});
