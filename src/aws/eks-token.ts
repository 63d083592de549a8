import { inspect } from 'node:util';
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

// The constants of `aws eks get-token` (awscli/customizations/eks/get_token.py).
const tokenPrefix = 'k8s-aws-v1.';
const clusterIdHeader = 'x-k8s-aws-id';
/** X-Amz-Expires: STS ignores it (a presigned GetCallerIdentity lives 15 minutes); 60 by convention. */
const presignExpiresSeconds = 60;
/** get-token's expirationTimestamp: one minute short of STS's 15, so clients renew in time. */
export const tokenLifetimeMs = 14 * 60_000;

/** A bearer token for an EKS cluster's API server. Logging it prints no secret. */
export interface EksToken {
  readonly token: string;
  readonly expiresAt: Date;
}

export interface CreateEksTokenInput {
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentity;
  now?: Date;
}

/** The regional STS host, as botocore resolves it (China regions live under amazonaws.com.cn). */
export function stsHostname(region: string): string {
  return `sts.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
}

/**
 * Mints the token `aws eks get-token` would: a presigned STS GetCallerIdentity GET that signs the
 * `x-k8s-aws-id: <cluster>` header, base64url-encoded without padding behind `k8s-aws-v1.`.
 * The URL is byte-identical to botocore's for the same credentials and clock.
 */
export async function createEksToken(input: CreateEksTokenInput): Promise<EksToken> {
  const now = input.now ?? new Date();
  const hostname = stsHostname(input.region);
  const signer = new SignatureV4({
    service: 'sts',
    region: input.region,
    credentials: input.credentials,
    sha256: Sha256,
    uriEscapePath: true,
  });
  const presigned = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, [clusterIdHeader]: input.clusterName },
    },
    { expiresIn: presignExpiresSeconds, signingDate: now },
  );
  const url = `https://${hostname}/?${botocoreQueryString(presigned.query ?? {})}`;
  return redacted({
    token: tokenPrefix + Buffer.from(url, 'utf8').toString('base64url'),
    expiresAt: new Date(now.getTime() + tokenLifetimeMs),
  });
}

// botocore writes the operation parameters, then the auth parameters in this order, then the signature.
const queryOrder = [
  'Action',
  'Version',
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Security-Token',
  'X-Amz-Signature',
];

function botocoreQueryString(query: Record<string, string | string[] | null>): string {
  const keys = [
    ...queryOrder.filter((key) => key in query),
    ...Object.keys(query).filter((key) => !queryOrder.includes(key)),
  ];
  return keys.map((key) => `${rfc3986(key)}=${rfc3986(String(query[key]))}`).join('&');
}

/** Percent-encodes all but A-Z a-z 0-9 - . _ ~, as botocore's percent_encode does. */
function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function redacted(token: EksToken): EksToken {
  const shown = { token: '[redacted]', expiresAt: token.expiresAt };
  return Object.freeze(
    Object.defineProperties(
      { ...token },
      {
        toJSON: { value: () => shown },
        toString: { value: () => `EksToken(expires ${token.expiresAt.toISOString()})` },
        [inspect.custom]: { value: () => shown },
      },
    ),
  );
}

export interface EksTokenProviderOptions {
  region: string;
  /** Default: the Node.js provider chain (in Lambda, the execution role's environment credentials). */
  credentials?: AwsCredentialIdentityProvider;
  /** Renew a cached token this long before it expires; at least 1 minute (the default). */
  renewBeforeMs?: number;
  now?: () => Date;
}

/**
 * Hands out EKS tokens per cluster, minting a new one when the cached one is within `renewBeforeMs`
 * of its expiry, or when the credentials that signed it expire first. Concurrent requests for one
 * cluster share one signing.
 */
export class EksTokenProvider {
  readonly #region: string;
  readonly #credentials: AwsCredentialIdentityProvider;
  readonly #renewBeforeMs: number;
  readonly #now: () => Date;
  readonly #tokens = new Map<string, { renewAt: number; token: Promise<EksToken> }>();

  constructor(options: EksTokenProviderOptions) {
    this.#region = options.region;
    this.#credentials = options.credentials ?? defaultProvider();
    this.#renewBeforeMs = Math.max(60_000, options.renewBeforeMs ?? 60_000);
    this.#now = options.now ?? (() => new Date());
  }

  /** A token for the cluster that stays valid for at least `renewBeforeMs`. */
  async getToken(clusterName: string): Promise<EksToken> {
    const cached = this.#tokens.get(clusterName);
    if (cached && this.#now().getTime() < cached.renewAt) return cached.token;
    const entry = { renewAt: Number.POSITIVE_INFINITY, token: this.#mint(clusterName) };
    this.#tokens.set(clusterName, entry);
    try {
      const token = await entry.token;
      entry.renewAt = token.expiresAt.getTime() - this.#renewBeforeMs;
      return token;
    } catch (error) {
      if (this.#tokens.get(clusterName) === entry) this.#tokens.delete(clusterName);
      throw error;
    }
  }

  async #mint(clusterName: string): Promise<EksToken> {
    const credentials = await this.#credentials();
    const now = this.#now();
    const token = await createEksToken({ clusterName, region: this.#region, credentials, now });
    // A presigned URL dies with the session credentials that signed it.
    const expiration = credentials.expiration?.getTime();
    if (expiration === undefined || expiration >= token.expiresAt.getTime()) return token;
    return redacted({ token: token.token, expiresAt: new Date(expiration) });
  }

  toJSON(): object {
    return { region: this.#region, clusters: [...this.#tokens.keys()] };
  }

  [inspect.custom](): object {
    return this.toJSON();
  }
}
