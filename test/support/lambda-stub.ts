/**
 * A stand-in for the Lambda Invoke API where moto would run the function in Docker (which this
 * machine has not): it answers asynchronous invocations (InvocationType Event) with 202, as Lambda
 * does when it has queued the event, and records each, for a test to run the payload itself.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LambdaInvocation {
  functionName: string;
  /** The alias or version invoked (`?Qualifier=`); undefined: unqualified ($LATEST). */
  qualifier: string | undefined;
  invocationType: string | undefined;
  payload: unknown;
  /** Whether the request was SigV4-signed for the lambda service. */
  signedFor: string | undefined;
}

export interface LambdaStub {
  endpoint: string;
  invocations: LambdaInvocation[];
  /** Answer the next `count` invocations with this HTTP status (e.g. 429 TooManyRequestsException). */
  failNext(count: number, status: number): void;
  stop(): Promise<void>;
}

export async function startLambdaStub(): Promise<LambdaStub> {
  const invocations: LambdaInvocation[] = [];
  let failures = { count: 0, status: 500 };
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not a Lambda Invoke"}');
      return;
    }
    if (failures.count > 0) {
      failures.count--;
      res
        .writeHead(failures.status, {
          'content-type': 'application/json',
          'x-amzn-errortype': 'TooManyRequestsException',
        })
        .end('{"message":"Rate exceeded"}');
      return;
    }
    const signedFor = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(
      req.headers.authorization ?? '',
    )?.[1];
    invocations.push({
      functionName: decodeURIComponent(match[1]!),
      qualifier: new URL(req.url ?? '', 'http://stub').searchParams.get('Qualifier') ?? undefined,
      invocationType: req.headers['x-amz-invocation-type'] as string | undefined,
      payload: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      signedFor,
    });
    res.writeHead(202, { 'content-type': 'application/json' }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    invocations,
    failNext: (count, status) => {
      failures = { count, status };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
