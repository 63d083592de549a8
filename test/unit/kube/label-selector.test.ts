import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { matchesSelector } from '../../../src/kube/label-selector.js';

const labels = { app: 'web', tier: 'frontend', 'app.kubernetes.io/part-of': 'shop' };

describe('matchesSelector', () => {
  const cases: { name: string; selector: k8s.V1LabelSelector | undefined; expected: boolean }[] = [
    { name: 'an undefined selector matches nothing', selector: undefined, expected: false },
    { name: 'an empty selector matches everything', selector: {}, expected: true },
    {
      name: 'empty matchLabels and matchExpressions match everything',
      selector: { matchLabels: {}, matchExpressions: [] },
      expected: true,
    },
    {
      name: 'matchLabels that all match',
      selector: { matchLabels: { app: 'web', tier: 'frontend' } },
      expected: true,
    },
    {
      name: 'matchLabels with one other value',
      selector: { matchLabels: { app: 'web', tier: 'backend' } },
      expected: false,
    },
    {
      name: 'matchLabels with a missing key',
      selector: { matchLabels: { release: 'stable' } },
      expected: false,
    },
    {
      name: 'In with the value listed',
      selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend', 'frontend'] }] },
      expected: true,
    },
    {
      name: 'In with the value not listed',
      selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend'] }] },
      expected: false,
    },
    {
      name: 'In on a missing key',
      selector: { matchExpressions: [{ key: 'release', operator: 'In', values: ['stable'] }] },
      expected: false,
    },
    {
      name: 'NotIn with the value not listed',
      selector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['backend'] }] },
      expected: true,
    },
    {
      name: 'NotIn with the value listed',
      selector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['frontend'] }] },
      expected: false,
    },
    {
      name: 'NotIn on a missing key (the API server matches it)',
      selector: { matchExpressions: [{ key: 'release', operator: 'NotIn', values: ['canary'] }] },
      expected: true,
    },
    {
      name: 'Exists on a present key',
      selector: { matchExpressions: [{ key: 'app.kubernetes.io/part-of', operator: 'Exists' }] },
      expected: true,
    },
    {
      name: 'Exists on a missing key',
      selector: { matchExpressions: [{ key: 'release', operator: 'Exists' }] },
      expected: false,
    },
    {
      name: 'DoesNotExist on a missing key',
      selector: { matchExpressions: [{ key: 'release', operator: 'DoesNotExist' }] },
      expected: true,
    },
    {
      name: 'DoesNotExist on a present key',
      selector: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] },
      expected: false,
    },
    {
      name: 'an unknown operator matches nothing',
      selector: { matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] },
      expected: false,
    },
    {
      name: 'matchLabels and matchExpressions must all hold',
      selector: {
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['frontend'] },
          { key: 'release', operator: 'DoesNotExist' },
        ],
      },
      expected: true,
    },
    {
      name: 'one failing expression fails the selector',
      selector: {
        matchLabels: { app: 'web' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['frontend'] },
          { key: 'app', operator: 'NotIn', values: ['web'] },
        ],
      },
      expected: false,
    },
  ];

  it.each(cases)('$name', ({ selector, expected }) => {
    // Act
    const matches = matchesSelector(selector, labels);

    // Assess
    expect(matches).toBe(expected);
  });

  it('matches an empty label value', () => {
    // Act + Assess
    expect(matchesSelector({ matchLabels: { canary: '' } }, { canary: '' })).toBe(true);
    expect(
      matchesSelector({ matchExpressions: [{ key: 'canary', operator: 'Exists' }] }, { canary: '' }),
    ).toBe(true);
  });

  it('does not treat inherited object properties as labels', () => {
    // Act + Assess
    expect(matchesSelector({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, {})).toBe(false);
  });
});
