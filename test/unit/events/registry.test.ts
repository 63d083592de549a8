import { describe, expect, it } from 'vitest';
import { eventParsers, findParser, registeredEventTypes } from '../../../src/events/registry.js';

describe('findParser', () => {
  it('finds every registered parser by its own (source, detail-type)', () => {
    for (const parser of eventParsers) {
      expect(findParser(parser.source, parser.detailType)).toBe(parser);
    }
  });

  it.each([
    ['aws.ec2', 'AWS Health Event'],
    ['aws.health', 'EC2 Spot Instance Interruption Warning'],
    ['aws.ec2', 'ec2 spot instance interruption warning'],
    ['aws.ec2|EC2 Spot Instance', 'Interruption Warning'],
    ['constructor', 'toString'],
    ['__proto__', '__proto__'],
  ])('finds nothing for (%s, %s)', (source, detailType) => {
    expect(findParser(source, detailType)).toBeUndefined();
  });
});

describe('registeredEventTypes', () => {
  it('lists the seven event types an EventBridge rule must match', () => {
    expect(registeredEventTypes()).toEqual([
      { source: 'aws.ec2', detailType: 'EC2 Spot Instance Interruption Warning' },
      { source: 'aws.ec2', detailType: 'EC2 Instance Rebalance Recommendation' },
      { source: 'aws.ec2', detailType: 'EC2 Instance State-change Notification' },
      { source: 'aws.health', detailType: 'AWS Health Event' },
      { source: 'aws.autoscaling', detailType: 'EC2 Instance-terminate Lifecycle Action' },
      { source: 'aws.ec2', detailType: 'EC2 Capacity Reservation Instance Interruption Warning' },
      { source: 'aws.autoscaling', detailType: 'EC2 Instance-launch Lifecycle Action' },
    ]);
  });
});
