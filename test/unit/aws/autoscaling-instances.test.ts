import { describe, expect, it } from 'vitest';
import { terminateHookStanding } from '../../../src/aws/autoscaling-instances.js';

describe('terminateHookStanding', () => {
  it.each([
    [
      'held by the hook',
      { autoScalingGroupName: 'workers', lifecycleState: 'Terminating:Wait' },
      'confirmed',
    ],
    [
      'hook completed, on its way out',
      { autoScalingGroupName: 'workers', lifecycleState: 'Terminating:Proceed' },
      'confirmed',
    ],
    [
      'a warm pool instance held',
      { autoScalingGroupName: 'workers', lifecycleState: 'Warmed:Terminating:Wait' },
      'confirmed',
    ],
    ['not listed (perhaps not yet)', undefined, 'not-yet'],
    ['only entering the wait', { autoScalingGroupName: 'workers', lifecycleState: 'Terminating' }, 'not-yet'],
    [
      'in another group',
      { autoScalingGroupName: 'others', lifecycleState: 'Terminating:Wait' },
      'contradicted',
    ],
    ['in service', { autoScalingGroupName: 'workers', lifecycleState: 'InService' }, 'contradicted'],
    ['launching', { autoScalingGroupName: 'workers', lifecycleState: 'Pending:Wait' }, 'contradicted'],
  ] as const)('%s: %s', (_, seen, standing) => {
    expect(terminateHookStanding('workers', seen).standing).toBe(standing);
  });
});
