import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { drainerGroup } from './control-plane.js';
import { verifyEksToken, verifyStsSignature } from './eks-token-verifier.js';

/**
 * The test bed's stand-in for EKS's aws-iam-authenticator: a kube-apiserver token webhook that checks
 * an EKS bearer token by aws-iam-authenticator's rules, replays its presigned GetCallerIdentity
 * against the AWS emulator (where real EKS would call STS), and maps the caller's ARN to the
 * access entry's Kubernetes group. So the Lambda's own token travels the real path end to end.
 */
export interface IamAuthenticator {
  url: string;
  /** Tokens seen, by outcome; tests use it to prove EKS tokens were used, not static ones. */
  stats: { accepted: number; rejected: number };
  stop(): Promise<void>;
}

export async function startIamAuthenticator(options: {
  clusterName: string;
  stsEndpoint: string;
  /** Kubernetes groups for an accepted caller, as an EKS access entry would give. */
  groups?: string[];
  /**
   * The secret key of the test credentials: with it the signature is checked as STS would (moto
   * checks none), so a token signed for another cluster name or with other keys is refused.
   */
  secretAccessKey?: string;
}): Promise<IamAuthenticator> {
  const stats = { accepted: 0, rejected: 0 };
  const server: Server = createServer(async (req, res) => {
    if (req.method === 'GET' && req.url === '/stats') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(stats));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const review = safeJson(Buffer.concat(chunks).toString('utf8'));
    const token: unknown = review?.spec?.token;
    // A failed replay is a failed review, never a crash of the process that hosts the bed.
    const status =
      typeof token === 'string'
        ? await authenticate(token).catch((error: unknown) => ({
            authenticated: false,
            error: `STS replay failed: ${String(error)}`,
          }))
        : { authenticated: false };
    if (status.authenticated) stats.accepted++;
    else stats.rejected++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', status }));
  });

  async function authenticate(token: string) {
    const verdict = verifyEksToken(token, options.clusterName);
    if (!verdict.ok) return { authenticated: false, error: verdict.reason };
    if (options.secretAccessKey) {
      const signature = await verifyStsSignature(verdict.url, options.clusterName, options.secretAccessKey);
      if (!signature.ok) return { authenticated: false, error: signature.reason };
    }
    // Real EKS sends this request to STS; the emulator answers for the same signed query.
    const replay = new URL(`${options.stsEndpoint.replace(/\/$/, '')}/${verdict.url.search}`);
    const response = await fetch(replay, {
      headers: { 'x-k8s-aws-id': options.clusterName },
      // moto is one Python process: a burst of 100 new tokens on a busy machine takes it seconds.
      signal: AbortSignal.timeout(20_000),
    });
    const body = await response.text();
    const arn = /<Arn>([^<]+)<\/Arn>/.exec(body)?.[1];
    const account = /<Account>([^<]+)<\/Account>/.exec(body)?.[1];
    const userId = /<UserId>([^<]+)<\/UserId>/.exec(body)?.[1];
    if (!response.ok || !arn) return { authenticated: false, error: `STS answered ${response.status}` };
    return {
      authenticated: true,
      user: {
        username: arn,
        uid: `aws-iam-authenticator:${account}:${userId}`,
        groups: options.groups ?? [drainerGroup],
      },
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/authenticate`,
    stats,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// biome-ignore lint/suspicious/noExplicitAny: a TokenReview from the API server, read defensively.
function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
