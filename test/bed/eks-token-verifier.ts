import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * A port of aws-iam-authenticator's token checks (kubernetes-sigs/aws-iam-authenticator,
 * pkg/token/token.go, tokenVerifier.Verify up to the STS call), so the test bed rejects every token
 * EKS would reject before asking STS. Each rule keeps the upstream error text.
 *
 * Upstream stops there and lets STS check the signature and the clock; moto checks neither, so
 * {@link verifyStsSignature} does the signature, and a date in the future is rejected here.
 */

const v1Prefix = 'k8s-aws-v1.';
const maxTokenLenBytes = 1024 * 4;
const clusterIdHeader = 'x-k8s-aws-id';
const presignedUrlExpirationMs = 15 * 60_000;
/** STS refuses signatures dated further ahead than its clock-skew allowance. */
const maxClockSkewMs = 5 * 60_000;

const parameterWhitelist = new Set([
  'action',
  'version',
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-signedheaders',
]);

/** pkg/endpoints: the STS domain, and the dual-stack one, of each partition. */
const partitionDomains: Record<string, { domain: string; dualStack?: string }> = {
  aws: { domain: 'amazonaws.com', dualStack: 'api.aws' },
  'aws-cn': { domain: 'amazonaws.com.cn', dualStack: 'api.amazonwebservices.com.cn' },
  'aws-us-gov': { domain: 'amazonaws.com', dualStack: 'api.aws' },
  'aws-iso': { domain: 'c2s.ic.gov' },
  'aws-iso-b': { domain: 'sc2s.sgov.gov' },
  'aws-iso-e': { domain: 'cloud.adc-e.uk' },
  'aws-iso-f': { domain: 'csp.hci.ic.gov' },
  'aws-eusc': { domain: 'amazonaws.eu', dualStack: 'api.amazonwebservices.eu' },
};

export type EksTokenVerdict = { ok: true; url: URL } | { ok: false; reason: string };

const formatError = (message: string): EksTokenVerdict => ({
  ok: false,
  reason: `input token was not properly formatted: ${message}`,
});

/**
 * Checks an EKS bearer token as aws-iam-authenticator does before it calls STS: prefix, encoding,
 * URL shape, STS host of the partition, whitelisted query, action, signed cluster header, expiry.
 */
export function verifyEksToken(
  token: string,
  // Kept for the caller's symmetry with upstream's NewVerifier(clusterID): the token does not carry
  // the header's value, only that it was signed; the binding is checked by verifyStsSignature.
  _expectedCluster: string,
  now: Date = new Date(),
  partition = 'aws',
): EksTokenVerdict {
  if (token.length > maxTokenLenBytes) return formatError('token is too large');
  if (!token.startsWith(v1Prefix)) return formatError(`token is missing expected "${v1Prefix}" prefix`);

  // Go's base64.RawURLEncoding: URL alphabet, no padding; it skips CR and LF.
  const encoded = token.slice(v1Prefix.length).replace(/[\r\n]/g, '');
  if (!/^[A-Za-z0-9_-]*$/.test(encoded) || encoded.length % 4 === 1) {
    return formatError('illegal base64 data');
  }
  const rawUrl = Buffer.from(encoded, 'base64url').toString('utf8');

  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch (error) {
    return formatError(String(error));
  }
  if (url.protocol !== 'https:')
    return formatError(`unexpected scheme "${url.protocol.replace(/:$/, '')}" in pre-signed URL`);

  // Go compares the raw host, port included and case kept; WHATWG URL would normalize both.
  const host = /^https:\/\/([^/?#]*)/i.exec(rawUrl)?.[1] ?? '';
  const hostError = verifyHost(host, partition);
  if (hostError) return formatError(hostError);

  if (url.pathname !== '/') return formatError('unexpected path in pre-signed URL');

  const query = parseQuery(url.search.replace(/^\?/, ''));
  if (!query) return formatError('malformed query parameter');

  const seen = new Set<string>();
  for (const key of query.keys()) {
    if (seen.has(key.toLowerCase())) return formatError(`duplicate query parameter found: "${key}"`);
    seen.add(key.toLowerCase());
  }
  const lower = new Map<string, string>();
  for (const [key, values] of query) {
    if (!parameterWhitelist.has(key.toLowerCase()))
      return formatError(`non-whitelisted query parameter "${key}"`);
    if (values.length !== 1) return formatError('query parameter with multiple values not supported');
    lower.set(key.toLowerCase(), values[0] ?? '');
  }

  if (lower.get('action') !== 'GetCallerIdentity')
    return formatError('unexpected action parameter in pre-signed URL');

  const signedHeaders = (lower.get('x-amz-signedheaders') ?? '').split(';');
  if (!signedHeaders.some((header) => header.toLowerCase() === clusterIdHeader)) {
    return formatError(`client did not sign the ${clusterIdHeader} header in the pre-signed URL`);
  }

  const expiresText = lower.get('x-amz-expires') ?? '';
  const expires = /^[+-]?\d+$/.test(expiresText) ? Number(expiresText) : Number.NaN;
  if (!Number.isSafeInteger(expires) || expires < 0 || expires > 900) {
    return formatError(
      `invalid X-Amz-Expires parameter in pre-signed URL: ${Number.isNaN(expires) ? 0 : expires}`,
    );
  }

  const date = lower.get('x-amz-date') ?? '';
  if (date === '') return formatError('X-Amz-Date parameter must be present in pre-signed URL');
  const signedAt = parseAmzDate(date);
  if (signedAt === undefined) {
    return formatError(`error parsing X-Amz-Date parameter ${date} into format 20060102T150405Z`);
  }
  if (now.getTime() > signedAt + presignedUrlExpirationMs) {
    return formatError(
      `X-Amz-Date parameter is expired (15 minute expiration) ${new Date(signedAt).toISOString()}`,
    );
  }
  if (signedAt > now.getTime() + maxClockSkewMs) {
    return formatError(`X-Amz-Date parameter is in the future ${new Date(signedAt).toISOString()}`);
  }

  return { ok: true, url };
}

/** tokenVerifier.verifyHost: `sts[-fips].<region>.<domain>` of the partition, or the global endpoint. */
function verifyHost(host: string, partition: string): string | undefined {
  const domains = partitionDomains[partition];
  if (!domains) return `partition ${partition} not valid`;
  const parts = host.split('.');
  if (host === '' || parts.length < 3)
    return `could not parse region for pre-signed URL ${host}, invalid host format: ${host}`;
  if (host === 'sts.amazonaws.com') {
    return partition === 'aws' ? undefined : `global endpoint unsupported in partition ${partition}`;
  }
  const region = parts[1] ?? '';
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(region)) {
    return `invalid region identifier format provided: ${region}`;
  }
  const domain = parts.slice(2).join('.');
  const knownDomain = domain === domains.domain || domain === domains.dualStack;
  if (!['sts', 'sts-fips'].includes(parts[0] ?? '') || !knownDomain) {
    return `unexpected hostname "${host}" in pre-signed URL`;
  }
  return undefined;
}

/** Go's url.ParseQuery: '&'-separated, '+' is a space, a bad escape or a ';' is an error. */
function parseQuery(raw: string): Map<string, string[]> | undefined {
  const query = new Map<string, string[]>();
  for (const part of raw.split('&')) {
    if (part === '') continue;
    if (part.includes(';')) return undefined;
    const eq = part.indexOf('=');
    const [rawKey, rawValue] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    try {
      const key = decodeURIComponent(rawKey.replace(/\+/g, ' '));
      const value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
      query.set(key, [...(query.get(key) ?? []), value]);
    } catch {
      return undefined;
    }
  }
  return query;
}

/** Parses 20060102T150405Z strictly, as Go's time.Parse does; undefined for anything else. */
function parseAmzDate(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const time = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(time);
  const exact =
    back.getUTCFullYear() === year &&
    back.getUTCMonth() === month - 1 &&
    back.getUTCDate() === day &&
    back.getUTCHours() === hour &&
    back.getUTCMinutes() === minute &&
    back.getUTCSeconds() === second;
  return exact ? time : undefined;
}

/**
 * What STS does with the URL the authenticator forwards: recomputes the SigV4 query signature with
 * the authenticator's own `x-k8s-aws-id` value and the signer's secret key, and compares. So a token
 * minted for another cluster, or edited after signing, is refused. moto does not check signatures.
 */
export async function verifyStsSignature(
  url: URL,
  expectedCluster: string,
  secretAccessKey: string,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const params = url.searchParams;
  const [accessKeyId, shortDate, region, service] = (params.get('X-Amz-Credential') ?? '').split('/');
  const amzDate = params.get('X-Amz-Date') ?? '';
  const signedAt = parseAmzDate(amzDate);
  if (!accessKeyId || !shortDate || !region || !service || signedAt === undefined) {
    return { ok: false, reason: 'SignatureDoesNotMatch: incomplete credential scope or date' };
  }
  const query: Record<string, string> = {};
  for (const [key, value] of params) {
    if (!key.startsWith('X-Amz-')) query[key] = value;
  }
  const sessionToken = params.get('X-Amz-Security-Token') ?? undefined;
  const headers: Record<string, string> = { host: url.host };
  for (const name of (params.get('X-Amz-SignedHeaders') ?? '').split(';')) {
    if (name === clusterIdHeader) headers[name] = expectedCluster;
    else if (name !== 'host')
      return { ok: false, reason: `SignatureDoesNotMatch: cannot replay signed header ${name}` };
  }
  const signer = new SignatureV4({
    service,
    region,
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
    sha256: Sha256,
  });
  const expected = await signer.presign(
    { method: 'GET', protocol: 'https:', hostname: url.hostname, path: url.pathname, query, headers },
    { signingDate: new Date(signedAt), expiresIn: Number(params.get('X-Amz-Expires') ?? '0') },
  );
  return expected.query?.['X-Amz-Signature'] === params.get('X-Amz-Signature')
    ? { ok: true }
    : { ok: false, reason: 'SignatureDoesNotMatch: the signature does not match the cluster or the request' };
}
