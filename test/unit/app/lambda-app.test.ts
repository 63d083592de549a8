import { describe, expect, it } from 'vitest';
import { functionOrigin } from '../../../src/app/lambda-app.js';
import { ConfigError } from '../../../src/errors.js';

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
