import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../../src/events/parse-event.js';
import { loadFixture, withDetail } from './fixtures.js';

describe('stateChangeParser', () => {
  it('turns the stopping fixture into a state-change notice whose detail is the state', () => {
    const event = loadFixture('state-change-stopping');

    const outcome = parseEvent(event);

    expect(outcome).toEqual({
      status: 'notices',
      notices: [
        {
          kind: 'state-change',
          instanceId: 'i-0123456789abcdef0',
          region: 'us-east-1',
          account: '123456789012',
          eventId: event.id,
          eventTime: new Date('2025-06-05T07:00:00Z'),
          deadline: undefined,
          detail: 'stopping',
        },
      ],
    });
  });

  it.each(['stopping', 'stopped', 'shutting-down', 'terminated'])('acts on state %s', (state) => {
    const outcome = parseEvent(withDetail(loadFixture('state-change-stopping'), { state }));

    expect(outcome.status).toBe('notices');
    expect(outcome.status === 'notices' && outcome.notices[0]?.detail).toBe(state);
  });

  it('reads the running fixture as an instance running again, not a notice', () => {
    const event = loadFixture('state-change-running');

    const outcome = parseEvent(event);

    expect(outcome).toEqual({
      status: 'running',
      eventId: event.id,
      instanceId: event.detail['instance-id'],
      account: event.account,
      region: event.region,
    });
  });

  it('ignores state pending', () => {
    const outcome = parseEvent(withDetail(loadFixture('state-change-running'), { state: 'pending' }));

    expect(outcome.status).toBe('ignored');
  });

  it.each([
    ['state', 'rebooting'],
    ['state', 'Stopping'],
    ['state', undefined],
    ['state', 3],
    ['instance-id', 'i-xyz'],
    ['instance-id', undefined],
  ])('rejects detail.%s = %j', (field, value) => {
    const event = withDetail(loadFixture('state-change-stopping'), { [field]: value });

    const outcome = parseEvent(event);

    expect(outcome).toMatchObject({ status: 'invalid', eventId: event.id });
    expect(outcome.status === 'invalid' && outcome.reason).toMatch(new RegExp(`^detail\\.${field}: `));
  });

  it('rejects a running event with a bad instance id rather than ignoring it', () => {
    const outcome = parseEvent(withDetail(loadFixture('state-change-running'), { 'instance-id': 'nope' }));

    expect(outcome.status).toBe('invalid');
  });
});
