import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the stub answers a request: like a throttled AWS API, silently, or by passing it on to moto. */
export type StubBehaviour = 'throttle-ec2' | 'throttle-eks' | 'stall' | 'proxy';

/**
 * A local HTTP stub in front of moto: answers each request as `plan(n)` says (n counts from 1), so
 * a test can make AWS throttle the first calls, or hang, over real HTTP.
 */
export interface ThrottlingProxy {
  endpoint: string;
  requests: number;
  stop(): Promise<void>;
}

export async function startThrottlingProxy(
  target: string,
  plan: (request: number) => StubBehaviour,
): Promise<ThrottlingProxy> {
  const targetUrl = new URL(target);
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    const behaviour = plan(++state.requests);
    if (behaviour === 'stall') return; // never answer; the client's timeout or abort must end it
    if (behaviour === 'throttle-ec2') {
      // EC2's query-protocol error document, as it is sent for RequestLimitExceeded.
      res.writeHead(503, { 'content-type': 'text/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code>' +
          '<Message>Request limit exceeded.</Message></Error></Errors><RequestID>stub</RequestID></Response>',
      );
      return;
    }
    if (behaviour === 'throttle-eks') {
      res.writeHead(429, { 'content-type': 'application/json', 'x-amzn-errortype': 'ThrottlingException' });
      res.end(JSON.stringify({ message: 'Rate exceeded' }));
      return;
    }
    forward(req, res, targetUrl);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function forward(req: IncomingMessage, res: ServerResponse, target: URL): void {
  const upstream = request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => {
    res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
}
