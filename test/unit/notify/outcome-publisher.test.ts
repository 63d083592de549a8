import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  disabledOutcomePublisher,
  eventBridgePublisher,
  OUTCOME_EVENTS_TIMEOUT_MS,
} from '../../../src/notify/outcome-publisher.js';
import { awsError } from '../aws/aws-error.js';
import { sampleOutcome } from './sample.js';

const events = mockClient(EventBridgeClient);
const publisher = (timeoutMs?: number) =>
  eventBridgePublisher({
    busName: 'drains',
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
    ...(timeoutMs ? { timeoutMs } : {}),
  });
const accepted = (n: number) => ({
  FailedEntryCount: 0,
  Entries: Array.from({ length: n }, (_, i) => ({ EventId: `id-${i}` })),
});
const sentEntries = () => events.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries ?? []);

afterEach(() => {
  vi.useRealTimers();
  events.reset();
});

describe('eventBridgePublisher', () => {
  it('puts each event on the bus with the source eks-spot-drainer', async () => {
    // Prepare
    events.on(PutEventsCommand).resolves(accepted(2));
    const list = [sampleOutcome(), sampleOutcome({ node: 'ip-10-0-1-6.ec2.internal' })];

    // Act
    const status = await publisher().publish(list);

    // Assess
    expect(status).toEqual({ status: 'sent', sent: 2 });
    expect(sentEntries()).toEqual([
      list.map((e) =>
        expect.objectContaining({
          Source: 'eks-spot-drainer',
          DetailType: 'Node Drained',
          EventBusName: 'drains',
          Detail: JSON.stringify(e.detail),
        }),
      ),
    ]);
  });

  it('puts 23 events in three calls of at most 10', async () => {
    // Prepare
    events.on(PutEventsCommand).callsFake((input) => accepted(input.Entries.length));

    // Act
    const status = await publisher().publish(Array.from({ length: 23 }, () => sampleOutcome()));

    // Assess
    expect(status).toEqual({ status: 'sent', sent: 23 });
    expect(sentEntries().map((entries) => entries.length)).toEqual([10, 10, 3]);
  });

  it('makes no call for no events', async () => {
    // Act
    const status = await publisher().publish([]);

    // Assess
    expect(status).toEqual({ status: 'sent', sent: 0 });
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('sends again only the entries EventBridge throttled, and reports those it refused for good', async () => {
    // Prepare: of three, one is throttled once, one is refused.
    events
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: [
          { EventId: 'id-0' },
          { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' },
          { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Detail is not valid.' },
        ],
      })
      .resolves(accepted(1));
    const list = ['a', 'b', 'c'].map((node) => sampleOutcome({ node }));

    // Act
    const status = await publisher().publish(list);

    // Assess
    expect(status).toEqual({
      status: 'failed',
      sent: 2,
      failed: 1,
      reason: 'entries refused: InvalidArgument',
    });
    expect(sentEntries().map((entries) => entries.map((e) => JSON.parse(e.Detail!).node))).toEqual([
      ['a', 'b', 'c'],
      ['b'],
    ]);
  });

  it('gives up on an entry throttled three times', async () => {
    // Prepare
    events
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException' }] });

    // Act
    const status = await publisher().publish([sampleOutcome()]);

    // Assess
    expect(status).toEqual({
      status: 'failed',
      sent: 0,
      failed: 1,
      reason: 'entries refused: ThrottlingException',
    });
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(3);
  });

  it('retries a throttled call', async () => {
    // Prepare
    events.on(PutEventsCommand).rejectsOnce(awsError('ThrottlingException', 400)).resolves(accepted(1));

    // Act
    const status = await publisher().publish([sampleOutcome()]);

    // Assess
    expect(status).toEqual({ status: 'sent', sent: 1 });
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(2);
  });

  it('reports a refused call, naming the error, without throwing', async () => {
    // Prepare
    events
      .on(PutEventsCommand)
      .rejects(awsError('AccessDeniedException', 400, { message: 'not authorized' }));

    // Act
    const status = await publisher().publish([sampleOutcome(), sampleOutcome()]);

    // Assess
    expect(status).toEqual({
      status: 'failed',
      sent: 0,
      failed: 2,
      reason: 'AccessDeniedException: not authorized',
    });
  });

  it('gives up at its timeout when EventBridge does not answer', async () => {
    // Prepare: a call that ignores its abort, and would answer only a minute later.
    events
      .on(PutEventsCommand)
      .callsFake(() => new Promise((resolve) => setTimeout(() => resolve(accepted(1)), 60_000).unref()));

    // Act
    const status = await publisher(300).publish([sampleOutcome()]);

    // Assess
    expect(status).toEqual({ status: 'failed', sent: 0, failed: 1, reason: 'timed out after 300 ms' });
  });

  it('waits 3 s at most by default', async () => {
    // Prepare
    vi.useFakeTimers();
    events.on(PutEventsCommand).callsFake(() => new Promise(() => {}));

    // Act
    const pending = publisher().publish([sampleOutcome()]);
    await vi.advanceTimersByTimeAsync(OUTCOME_EVENTS_TIMEOUT_MS + 250);

    // Assess
    expect(OUTCOME_EVENTS_TIMEOUT_MS).toBe(3_000);
    await expect(pending).resolves.toMatchObject({ status: 'failed', failed: 1 });
  });
});

describe('disabledOutcomePublisher', () => {
  it('puts nothing', async () => {
    // Act
    const status = await disabledOutcomePublisher.publish([sampleOutcome()]);

    // Assess
    expect(status).toEqual({ status: 'disabled' });
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
  });
});
