import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createLambdaApp, functionOrigin } from '../../../src/app/lambda-app.js';
import { ConfigError } from '../../../src/errors.js';
import { disabledOutcomePublisher } from '../../../src/notify/outcome-publisher.js';
import { sampleOutcome } from '../notify/sample.js';

describe('functionOrigin', () => {
  it.each([
    [
      'arn:aws:lambda:eu-west-1:123456789012:function:eks-spot-drainer-prod-interruption',
      'eu-west-1',
      '123456789012',
      undefined,
    ],
    [
      'arn:aws:lambda:us-east-1:210987654321:function:fn:provisioned',
      'us-east-1',
      '210987654321',
      'provisioned',
    ],
    [
      'arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:fn',
      'us-gov-west-1',
      '123456789012',
      undefined,
    ],
    ['arn:aws-cn:lambda:cn-north-1:123456789012:function:fn:7', 'cn-north-1', '123456789012', '7'],
  ])('reads %s as region %s, account %s, qualifier %s', (arn, region, account, qualifier) => {
    expect(functionOrigin(arn)).toEqual({ region, account, ...(qualifier ? { qualifier } : {}) });
  });

  it.each([
    '',
    'arn:aws:lambda:eu-west-1:1234:function:fn',
    'arn:aws:s3:::bucket',
    'arn:aws:lambda:eu-west-1:123456789012:layer:l:1',
    'arn:aws:lambda:EU:123456789012:function:fn',
  ])('refuses %j', (arn) => {
    expect(() => functionOrigin(arn)).toThrow(ConfigError);
  });
});

describe('createLambdaApp: outcome events', () => {
  const events = mockClient(EventBridgeClient);
  const env = {
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'not-a-secret',
    MANAGED_CLUSTERS: 'prod-a',
  };

  afterEach(() => {
    events.reset();
  });

  it('puts them on OUTCOME_EVENT_BUS, through AWS_ENDPOINT_URL_EVENTBRIDGE', async () => {
    // Prepare
    let endpoint: unknown;
    events.on(PutEventsCommand).callsFake(async (_input, getClient) => {
      endpoint = await getClient().config.endpoint?.();
      return { FailedEntryCount: 0, Entries: [{ EventId: 'id-0' }] };
    });
    const app = createLambdaApp({
      ...env,
      OUTCOME_EVENT_BUS: 'drains',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
      AWS_ENDPOINT_URL_EVENTBRIDGE: 'http://127.0.0.1:4566',
    });

    // Act
    const status = await app.deps.outcomes.publish([sampleOutcome()]);

    // Assess
    expect(status).toEqual({ status: 'sent', sent: 1 });
    expect(events.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0]?.EventBusName).toBe('drains');
    expect(endpoint).toMatchObject({ hostname: '127.0.0.1', port: 4566 });
  });

  it('puts none with OUTCOME_EVENTS=false', () => {
    // Act
    const app = createLambdaApp({ ...env, OUTCOME_EVENTS: 'false' });

    // Assess
    expect(app.deps.outcomes).toBe(disabledOutcomePublisher);
  });
});
