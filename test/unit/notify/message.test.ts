import { describe, expect, it } from 'vitest';
import { drainFinishedMessage, drainStartedMessage, formatDuration } from '../../../src/notify/message.js';
import type { DrainInfo, DrainSummary } from '../../../src/notify/types.js';
import { Action, NoticeKind } from '../../../src/types.js';
import { sampleInfo, sampleSummary } from './sample.js';

const info = sampleInfo;

const summary = sampleSummary({ evicted: 12, skipped: 3, durationMs: 41_234, timeLeftMs: 73_500 });

function fieldTexts(message: { blocks: unknown[] }): string[] {
  const block = message.blocks[1] as { fields: { text: string }[] };
  return block.fields.map((field) => field.text);
}

describe('formatDuration', () => {
  it.each([
    [850, '0.9 s'],
    [41_234, '41.2 s'],
    [59_949, '59.9 s'],
    [59_960, '1 min 0 s'],
    [125_000, '2 min 5 s'],
    [-3_000, '3.0 s'],
  ])('formats %d ms as %s', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });
});

describe('drainStartedMessage', () => {
  it('says what is drained, why and until when, in text and blocks', () => {
    // Act
    const message = drainStartedMessage(info);

    // Assess
    expect(message.text).toBe(
      'Draining node ip-10-0-1-5.ec2.internal (i-0123456789abcdef0) in cluster prod-a: ' +
        'Spot interruption warning, deadline 2025-03-01T12:02:00.000Z.',
    );
    expect(message.blocks[0]).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: ':rotating_light: *Draining node ip-10-0-1-5.ec2.internal (i-0123456789abcdef0) in cluster prod-a*',
      },
    });
    expect(fieldTexts(message)).toEqual([
      '*Cluster*\nprod-a',
      '*Node*\nip-10-0-1-5.ec2.internal',
      '*Instance*\ni-0123456789abcdef0',
      '*Notice*\nSpot interruption warning',
      '*Deadline*\n2025-03-01T12:02:00.000Z',
      '*Event*\na1b2c3d4-0000-4000-8000-000000000001',
    ]);
  });

  it('says cordoning, dry run and no deadline when that is the case', () => {
    // Prepare
    const cordon: DrainInfo = {
      ...info,
      kind: NoticeKind.RebalanceRecommendation,
      action: Action.Cordon,
      dryRun: true,
      deadline: undefined,
    };

    // Act
    const message = drainStartedMessage(cordon);

    // Assess
    expect(message.text).toBe(
      'Dry run: would cordon node ip-10-0-1-5.ec2.internal (i-0123456789abcdef0) in cluster prod-a: ' +
        'rebalance recommendation, deadline none.',
    );
  });

  it('escapes Slack markup characters in names', () => {
    // Act
    const message = drainStartedMessage({ ...info, nodeName: 'a<b>&c' });

    // Assess
    expect(message.text).toContain('node a&lt;b&gt;&amp;c (');
    expect(fieldTexts(message)[1]).toBe('*Node*\na&lt;b&gt;&amp;c');
  });
});

describe('drainFinishedMessage', () => {
  it('reports outcome, counts, duration and time to spare', () => {
    // Act
    const message = drainFinishedMessage(info, summary);

    // Assess
    expect(message.text).toBe(
      'drained: node ip-10-0-1-5.ec2.internal (i-0123456789abcdef0) in cluster prod-a after 41.2 s ' +
        '(Spot interruption warning): 12 evicted, 3 skipped, 0 blocked, 0 failed; 1 min 14 s before the deadline.',
    );
    const headline = (message.blocks[0] as { text: { text: string } }).text.text;
    expect(headline.startsWith(':white_check_mark: *drained: node ip-10-0-1-5.ec2.internal')).toBe(true);
    expect(fieldTexts(message)).toHaveLength(6);
  });

  it('warns when the deadline passed with pods blocked', () => {
    // Prepare
    const late: DrainSummary = { ...summary, outcome: 'deadline-reached', blocked: 2, timeLeftMs: -1_500 };

    // Act
    const message = drainFinishedMessage(info, late);

    // Assess
    expect(message.text).toContain('2 blocked, 0 failed; 1.5 s past the deadline.');
    const headline = (message.blocks[0] as { text: { text: string } }).text.text;
    expect(headline.startsWith(':warning: *deadline-reached:')).toBe(true);
  });

  it('warns on failed evictions even when the outcome sounds settled', () => {
    // Act
    const message = drainFinishedMessage(info, { ...summary, failed: 1 });

    // Assess
    const headline = (message.blocks[0] as { text: { text: string } }).text.text;
    expect(headline.startsWith(':warning:')).toBe(true);
  });

  it('leaves the deadline out when the notice had none', () => {
    // Act
    const message = drainFinishedMessage(
      { ...info, kind: NoticeKind.AsgTerminate, deadline: undefined },
      { ...summary, timeLeftMs: undefined },
    );

    // Assess
    expect(message.text).toMatch(
      /\(Auto Scaling terminate lifecycle action\): 12 evicted, 3 skipped, 0 blocked, 0 failed\.$/,
    );
  });
});
