import { describe, expect, it } from 'vitest';
import { describeError, redact } from '../../../src/observability/redact.js';

const token =
  'k8s-aws-v1.aHR0cHM6Ly9zdHMudXMtZWFzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTU';
const presigned =
  'https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256' +
  '&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20250605%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20250605T070000Z' +
  '&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F%2F%2F' +
  '&X-Amz-Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0';
const secretKey = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

describe('redact', () => {
  it.each([
    [
      'an EKS token',
      `Authorization failed for ${token} today`,
      'Authorization failed for k8s-aws-v1.[REDACTED] today',
    ],
    [
      'a Bearer header',
      'authorization: Bearer abc.def-ghi_jkl~mno+pqr/stu=',
      'authorization: Bearer [REDACTED]',
    ],
    ['a lowercase bearer header', 'bearer sometoken123', 'bearer [REDACTED]'],
    [
      'a secret access key assignment',
      `aws_secret_access_key = ${secretKey}`,
      'aws_secret_access_key = [REDACTED]',
    ],
    ['a secretAccessKey in JSON', `{"secretAccessKey":"${secretKey}"}`, '{"secretAccessKey":"[REDACTED]"}'],
    ['a SecretAccessKey field', `SecretAccessKey: ${secretKey}`, 'SecretAccessKey: [REDACTED]'],
    [
      'a session token in JSON',
      '{"sessionToken":"IQoJb3JpZ2luX2VjEJr1234567890abcdef"}',
      '{"sessionToken":"[REDACTED]"}',
    ],
    [
      'an aws_session_token assignment',
      'aws_session_token=IQoJb3JpZ2luX2VjEJr1234567890',
      'aws_session_token=[REDACTED]',
    ],
  ])('removes %s', (_, input, expected) => {
    // Act + Assess
    expect(redact(input)).toBe(expected);
  });

  it('removes the signature, credential and security token of a presigned URL, and keeps the rest', () => {
    // Act
    const out = redact(presigned);

    // Assess
    expect(out).toContain('X-Amz-Signature=[REDACTED]');
    expect(out).toContain('X-Amz-Credential=[REDACTED]');
    expect(out).toContain('X-Amz-Security-Token=[REDACTED]');
    expect(out).toContain('Action=GetCallerIdentity');
    expect(out).toContain('X-Amz-Date=20250605T070000Z');
    expect(out).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(out).not.toContain('0f1e2d3c4b5a6978');
    expect(out).not.toContain('IQoJb3JpZ2luX2VjEJr');
  });

  it('stops a signature at a quote', () => {
    // Act + Assess
    expect(redact(`"url":"?X-Amz-Signature=abc123def456","next":1`)).toBe(
      `"url":"?X-Amz-Signature=[REDACTED]","next":1`,
    );
  });

  it('leaves ordinary text alone', () => {
    // Prepare
    const text = "Cannot evict pod as it would violate the pod's disruption budget web-pdb (secret: no)";

    // Act + Assess
    expect(redact(text)).toBe(text);
  });

  it('removes every occurrence', () => {
    // Act
    const out = redact(`${token} and again ${token}`);

    // Assess
    expect(out).toBe('k8s-aws-v1.[REDACTED] and again k8s-aws-v1.[REDACTED]');
  });
});

describe('describeError', () => {
  it('keeps name, message and a numeric code', () => {
    // Prepare
    const error = Object.assign(new Error('HTTP-Code: 403 Message: Forbidden'), {
      name: 'ApiException',
      code: 403,
    });

    // Act
    const described = describeError(error);

    // Assess
    expect(described).toEqual({
      name: 'ApiException',
      message: 'HTTP-Code: 403 Message: Forbidden',
      code: 403,
    });
  });

  it('keeps a string code', () => {
    // Act + Assess
    expect(describeError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toEqual({
      name: 'Error',
      message: 'reset',
      code: 'ECONNRESET',
    });
  });

  it('redacts the message', () => {
    // Prepare
    const error = new Error(`request with Authorization: Bearer ${token} failed: ${presigned}`);

    // Act
    const { message } = describeError(error);

    // Assess
    expect(message).not.toContain('k8s-aws-v1.aHR0');
    expect(message).not.toContain('0f1e2d3c4b5a6978');
    expect(message).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(message).toContain('Bearer [REDACTED]');
  });

  it('appends the cause, redacted', () => {
    // Prepare
    const error = new Error('DescribeCluster failed', { cause: new Error(`socket hang up at ${presigned}`) });

    // Act
    const { message } = describeError(error);

    // Assess
    expect(message.startsWith('DescribeCluster failed (cause: socket hang up at https://sts.')).toBe(true);
    expect(message).toContain('X-Amz-Signature=[REDACTED]');
  });

  it('does not repeat a cause the message already contains', () => {
    // Prepare
    const error = new Error('gave up: connect ECONNREFUSED', { cause: new Error('connect ECONNREFUSED') });

    // Act + Assess
    expect(describeError(error).message).toBe('gave up: connect ECONNREFUSED');
  });

  it('bounds the message to 1,000 characters', () => {
    // Prepare
    const error = new Error('x'.repeat(5_000), { cause: new Error('y'.repeat(100)) });

    // Act + Assess
    expect(describeError(error).message).toHaveLength(1_000);
    expect(describeError('z'.repeat(2_000)).message).toHaveLength(1_000);
  });

  it('describes a thrown string, redacted', () => {
    // Act + Assess
    expect(describeError(`bad ${token}`)).toEqual({ name: 'Error', message: 'bad k8s-aws-v1.[REDACTED]' });
  });

  it.each([
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
    ['a number', 42, '42'],
  ])('describes %s', (_, thrown, message) => {
    // Act + Assess
    expect(describeError(thrown)).toEqual({ name: 'Error', message });
  });

  it('describes a plain object that is not an Error', () => {
    // Act
    const described = describeError({ code: 503, message: 'Service Unavailable' });

    // Assess
    expect(described).toEqual({ name: 'Error', message: 'Service Unavailable', code: 503 });
  });
});
