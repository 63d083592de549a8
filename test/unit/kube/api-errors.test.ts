import { describe, expect, it } from 'vitest';
import {
  httpStatusOf,
  isMultiplePdbError,
  isTransientKubeError,
  kubeStatusOf,
  retryAfterMsOf,
} from '../../../src/kube/api-errors.js';
import { apiError, fetchError } from '../../support/fake-kube.js';

const budgetStatus = {
  reason: 'TooManyRequests',
  message: "Cannot evict pod as it would violate the pod's disruption budget.",
  details: {
    causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget web-pdb needs 2 healthy pods' }],
  },
};
const multiplePdbMessage =
  'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.';

describe('httpStatusOf', () => {
  it.each([
    ['an ApiException', apiError(404), 404],
    ['a plain object with a numeric code', { code: 503 }, 503],
    ['a FetchError with a string code', fetchError('ECONNRESET'), undefined],
    ['a code out of the HTTP range', { code: 42 }, undefined],
    ['a code of 600', { code: 600 }, undefined],
    ['null', null, undefined],
    ['undefined', undefined, undefined],
    ['a string', 'HTTP 500', undefined],
  ])('reads %s', (_, error, expected) => {
    // Act + Assess
    expect(httpStatusOf(error)).toBe(expected);
  });
});

describe('kubeStatusOf', () => {
  it('reads a Status from a JSON string body, as client-node throws it', () => {
    // Prepare
    const error = apiError(429, budgetStatus);

    // Act
    const status = kubeStatusOf(error);

    // Assess
    expect(status).toEqual({
      code: 429,
      reason: 'TooManyRequests',
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      causes: [{ reason: 'DisruptionBudget', message: 'The disruption budget web-pdb needs 2 healthy pods' }],
      retryAfterSeconds: undefined,
    });
  });

  it('reads a Status from an object body', () => {
    // Prepare
    const error = { code: 409, body: { reason: 'Conflict', message: 'the object has been modified' } };

    // Act
    const status = kubeStatusOf(error);

    // Assess
    expect(status).toMatchObject({ code: 409, reason: 'Conflict', message: 'the object has been modified' });
    expect(status.causes).toEqual([]);
  });

  it('keeps a body that is not JSON as the message, bounded', () => {
    // Prepare
    const error = apiError(502, `<html>Bad Gateway</html>${'x'.repeat(1_000)}`);

    // Act
    const status = kubeStatusOf(error);

    // Assess
    expect(status.code).toBe(502);
    expect(status.reason).toBeUndefined();
    expect(status.message?.startsWith('<html>Bad Gateway</html>')).toBe(true);
    expect(status.message).toHaveLength(500);
  });

  it.each([
    ['no body', { code: 500 }],
    ['a JSON string that is not an object', { code: 500, body: '"just text"' }],
    ['JSON null', { code: 500, body: 'null' }],
    [
      'fields of the wrong types',
      { code: 500, body: { reason: 7, message: ['x'], details: { causes: 'no' } } },
    ],
    ['a number body', { code: 500, body: 12 }],
  ])('reads %s as an empty Status', (_, error) => {
    // Act
    const status = kubeStatusOf(error);

    // Assess
    expect(status).toEqual({
      code: 500,
      reason: undefined,
      message: undefined,
      causes: [],
      retryAfterSeconds: undefined,
    });
  });

  it('reads nothing from null', () => {
    // Act + Assess
    expect(kubeStatusOf(null)).toEqual({
      code: undefined,
      reason: undefined,
      message: undefined,
      causes: [],
      retryAfterSeconds: undefined,
    });
  });

  it.each([
    ['a lowercase retry-after header', {}, { 'retry-after': '3' }, 3],
    ['a Retry-After header', {}, { 'Retry-After': '4' }, 4],
    ['details.retryAfterSeconds', { details: { retryAfterSeconds: 5 } }, {}, 5],
    [
      'details.retryAfterSeconds over the header',
      { details: { retryAfterSeconds: 5 } },
      { 'retry-after': '1' },
      5,
    ],
    [
      'an HTTP-date header, which it does not read',
      {},
      { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' },
      undefined,
    ],
    ['no header', {}, {}, undefined],
  ])('takes Retry-After from %s', (_, body, headers, expected) => {
    // Prepare
    const error = apiError(429, body, headers);

    // Act
    const seconds = kubeStatusOf(error).retryAfterSeconds;

    // Assess
    expect(seconds).toBe(expected);
  });
});

describe('retryAfterMsOf', () => {
  it('converts seconds to milliseconds', () => {
    // Act + Assess
    expect(retryAfterMsOf(apiError(429, {}, { 'retry-after': '2' }))).toBe(2_000);
    expect(retryAfterMsOf(apiError(429))).toBeUndefined();
  });
});

describe('isTransientKubeError', () => {
  it.each([
    ['429 throttling', apiError(429, { reason: 'TooManyRequests' }), true],
    ['429 with a budget cause (the caller decides first)', apiError(429, budgetStatus), true],
    ['408 request timeout', apiError(408), true],
    ['500 internal error', apiError(500, { message: 'etcdserver: request timed out' }), true],
    ['502 bad gateway', apiError(502, '<html>'), true],
    ['503 unavailable', apiError(503), true],
    ['504 gateway timeout', apiError(504), true],
    ['500 more than one PodDisruptionBudget', apiError(500, { message: multiplePdbMessage }), false],
    ['400 bad request', apiError(400), false],
    ['401 unauthorized', apiError(401), false],
    ['403 forbidden', apiError(403), false],
    ['404 not found', apiError(404), false],
    ['409 conflict', apiError(409), false],
    ['422 invalid', apiError(422), false],
    ['a FetchError', fetchError('ECONNRESET'), true],
    ['a FetchError of type system without a code', { name: 'FetchError', type: 'system' }, true],
    ['ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), true],
    ['ETIMEDOUT', Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }), true],
    ['EAI_AGAIN', Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' }), true],
    ['ENOTFOUND', Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), true],
    ['EPIPE', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }), true],
    [
      'an undici error code in the cause',
      new Error('fetch failed', { cause: { code: 'UND_ERR_SOCKET' } }),
      true,
    ],
    ['an AbortError', Object.assign(new Error('aborted'), { name: 'AbortError' }), true],
    ['a TimeoutError', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), true],
    ['node-fetch aborted', { type: 'aborted', message: 'The user aborted a request.' }, true],
    ['node-fetch request-timeout', { type: 'request-timeout' }, true],
    ['a TypeError from our own code', new TypeError('x is undefined'), false],
    [
      'a certificate error',
      Object.assign(new Error('self-signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
      false,
    ],
    ['null', null, false],
    ['a string', 'boom', false],
  ])('%s → %s', (_, error, expected) => {
    // Act + Assess
    expect(isTransientKubeError(error)).toBe(expected);
  });
});

describe('isMultiplePdbError', () => {
  it.each([
    ['the eviction refusal', apiError(500, { message: multiplePdbMessage }), true],
    ['the message in another case', apiError(500, { message: 'MORE THAN ONE PODDISRUPTIONBUDGET' }), true],
    ['another 500', apiError(500, { message: 'etcdserver: request timed out' }), false],
    ['the message with another status', apiError(429, { message: multiplePdbMessage }), false],
    ['a 500 without a body', { code: 500 }, false],
    ['a network error', fetchError(), false],
  ])('%s → %s', (_, error, expected) => {
    // Act + Assess
    expect(isMultiplePdbError(error)).toBe(expected);
  });
});
