/**
 * A stand-in for the Auto Scaling API where moto falls short: moto 5.2 answers CompleteLifecycleAction
 * with HTTP 500. It speaks the Query protocol the SDK uses (form-encoded POST, XML answer), answers
 * CompleteLifecycleAction and RecordLifecycleActionHeartbeat, and records every call for assertions.
 * With `forwardTo` (moto), every other action (DescribeAutoScalingInstances, which confirms a hook's
 * event) is passed on to it as it came, signature included.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const xmlns = 'http://autoscaling.amazonaws.com/doc/2011-01-01/';
const answered = new Set(['CompleteLifecycleAction', 'RecordLifecycleActionHeartbeat']);
/** Headers of this hop, not the request's: fetch sets its own. */
const hopByHop = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

export interface AutoScalingCall {
  action: string;
  params: Record<string, string>;
  /** Whether the request was SigV4-signed for the autoscaling service. */
  signedFor: string | undefined;
  /** When the request arrived (epoch ms). */
  at: number;
}

export interface AutoScalingStub {
  endpoint: string;
  calls: AutoScalingCall[];
  stop(): Promise<void>;
}

export async function startAutoScalingStub(options: { forwardTo?: string } = {}): Promise<AutoScalingStub> {
  const calls: AutoScalingCall[] = [];
  let requests = 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    const action = params.Action ?? '';
    const signedFor = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(
      req.headers.authorization ?? '',
    )?.[1];
    calls.push({ action, params, signedFor, at: Date.now() });
    const requestId = `00000000-0000-4000-8000-${String(++requests).padStart(12, '0')}`;
    res.setHeader('content-type', 'text/xml');
    if (!answered.has(action) && options.forwardTo) {
      const body = Buffer.concat(chunks);
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(
          (entry): entry is [string, string] => typeof entry[1] === 'string' && !hopByHop.has(entry[0]),
        ),
      );
      const answer = await fetch(`${options.forwardTo}${req.url ?? '/'}`, { method: 'POST', headers, body });
      res.statusCode = answer.status;
      res.setHeader('content-type', answer.headers.get('content-type') ?? 'text/xml');
      res.end(Buffer.from(await answer.arrayBuffer()));
      return;
    }
    if (!answered.has(action)) {
      res.statusCode = 400;
      res.end(
        `<ErrorResponse xmlns="${xmlns}"><Error><Type>Sender</Type><Code>InvalidAction</Code>` +
          `<Message>the Auto Scaling stub does not answer ${action}</Message></Error>` +
          `<RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
      return;
    }
    res.end(
      `<${action}Response xmlns="${xmlns}"><${action}Result/>` +
        `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
