import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** How the proxy answers one AWS call instead of passing it to moto. */
export type AwsFault =
  /** The service's own throttling error (EC2 RequestLimitExceeded, EKS ThrottlingException, ...). */
  | 'throttle'
  /** HTTP 500 with the service's internal error code. */
  | 'server-error'
  /** HTTP 503 ServiceUnavailable. */
  | 'unavailable'
  /** Accept and never answer. */
  | 'stall'
  /** Close the connection without an answer. */
  | 'reset'
  /** Auto Scaling's answer once a lifecycle action has ended (completed elsewhere, or timed out). */
  | 'no-active-lifecycle-action';

/** One AWS call as the proxy saw it. `n` counts calls of the same operation, from 1. */
export interface AwsCall {
  service: string;
  operation: string;
  n: number;
  params: Record<string, string>;
  fault: AwsFault | undefined;
  status: number | undefined;
}

/**
 * An HTTP proxy in front of moto that knows which AWS operation each request is (Query-protocol
 * Action, JSON-protocol X-Amz-Target, EKS's REST path, STS's presigned query) and answers as `plan`
 * says: with the service's own
 * error shapes, silence or a reset, or by passing it on. It also stands in for the Auto Scaling
 * lifecycle calls moto lacks (CompleteLifecycleAction, RecordLifecycleActionHeartbeat).
 */
export interface AwsFaultProxy {
  endpoint: string;
  calls: AwsCall[];
  /** The calls of one operation. */
  callsOf(operation: string): AwsCall[];
  setPlan(plan: AwsFaultPlan): void;
  stop(): Promise<void>;
}

export type AwsFaultPlan = (
  call: Pick<AwsCall, 'service' | 'operation' | 'n' | 'params'>,
) => AwsFault | undefined;

const autoScalingXmlns = 'http://autoscaling.amazonaws.com/doc/2011-01-01/';
const stsXmlns = 'https://sts.amazonaws.com/doc/2011-06-15/';
const stubbedAutoScaling = new Set(['CompleteLifecycleAction', 'RecordLifecycleActionHeartbeat']);

export async function startAwsFaultProxy(target: string, initialPlan: AwsFaultPlan = () => undefined) {
  const targetUrl = new URL(target);
  const calls: AwsCall[] = [];
  const perOperation = new Map<string, number>();
  const sockets = new Set<Socket>();
  let plan = initialPlan;

  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const { service, operation, params } = identify(req, body);
    const n = (perOperation.get(operation) ?? 0) + 1;
    perOperation.set(operation, n);
    const fault = plan({ service, operation, n, params });
    const call: AwsCall = { service, operation, n, params, fault, status: undefined };
    calls.push(call);
    if (fault === 'stall') return;
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault) {
      const error = errorFor(service, fault, params);
      call.status = error.status;
      res.writeHead(error.status, error.headers);
      res.end(error.body);
      return;
    }
    if (service === 'autoscaling' && stubbedAutoScaling.has(operation)) {
      call.status = 200;
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<${operation}Response xmlns="${autoScalingXmlns}"><${operation}Result/>` +
          `<ResponseMetadata><RequestId>stub-${calls.length}</RequestId></ResponseMetadata></${operation}Response>`,
      );
      return;
    }
    forward(req, res, body, targetUrl, call);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    callsOf: (operation: string) => calls.filter((c) => c.operation === operation),
    setPlan(next: AwsFaultPlan) {
      plan = next;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  } satisfies AwsFaultProxy;
}

/** Which service and operation a request is, from its signature scope, form body, query or path. */
function identify(req: IncomingMessage, body: Buffer) {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const scope =
    /Credential=[^/,]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(req.headers.authorization ?? '')?.[1] ??
    /^[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request$/.exec(
      url.searchParams.get('X-Amz-Credential') ?? '',
    )?.[1] ??
    'unknown';
  const form = (req.headers['content-type'] ?? '').includes('x-www-form-urlencoded')
    ? Object.fromEntries(new URLSearchParams(body.toString('utf8')))
    : {};
  const params: Record<string, string> = { ...Object.fromEntries(url.searchParams), ...form };
  // JSON-protocol services (EventBridge) name the operation in a header: AWSEvents.PutEvents.
  const target = /^[A-Za-z0-9_]+\.([A-Za-z]+)$/.exec(String(req.headers['x-amz-target'] ?? ''))?.[1];
  let operation = params.Action ?? target ?? `${req.method} ${url.pathname}`;
  if (scope === 'eks' && req.method === 'GET' && /^\/clusters\/[^/]+$/.test(url.pathname)) {
    operation = 'DescribeCluster';
  }
  return { service: scope, operation, params };
}

function errorFor(
  service: string,
  fault: Exclude<AwsFault, 'stall' | 'reset'>,
  params: Record<string, string>,
) {
  const status = fault === 'throttle' ? (service === 'ec2' ? 503 : service === 'eks' ? 429 : 400) : 0;
  if (service === 'events') {
    const [code, httpStatus] =
      fault === 'throttle'
        ? ['ThrottlingException', 400]
        : fault === 'unavailable'
          ? ['ServiceUnavailableException', 503]
          : ['InternalException', 500];
    return {
      status: httpStatus,
      headers: { 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ __type: code, message: `injected ${code}` }),
    };
  }
  if (service === 'eks') {
    const [code, httpStatus] =
      fault === 'throttle'
        ? ['ThrottlingException', status]
        : fault === 'unavailable'
          ? ['ServiceUnavailableException', 503]
          : ['ServerException', 500];
    return {
      status: httpStatus,
      headers: { 'content-type': 'application/json', 'x-amzn-errortype': code },
      body: JSON.stringify({ message: `injected ${code}` }),
    };
  }
  const [code, httpStatus, message] =
    fault === 'throttle'
      ? [service === 'ec2' ? 'RequestLimitExceeded' : 'Throttling', status, 'Rate exceeded']
      : fault === 'unavailable'
        ? ['ServiceUnavailable', 503, 'Service is unavailable']
        : fault === 'no-active-lifecycle-action'
          ? ['ValidationError', 400, `No active Lifecycle Action found with instance ID ${params.InstanceId}`]
          : [service === 'ec2' ? 'InternalError' : 'InternalFailure', 500, 'An internal error occurred'];
  if (service === 'ec2') {
    return {
      status: httpStatus,
      headers: { 'content-type': 'text/xml' },
      body:
        `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code>` +
        `<Message>${message}</Message></Error></Errors><RequestID>injected</RequestID></Response>`,
    };
  }
  const xmlns = service === 'sts' ? stsXmlns : autoScalingXmlns;
  return {
    status: httpStatus,
    headers: { 'content-type': 'text/xml' },
    body:
      `<ErrorResponse xmlns="${xmlns}"><Error><Type>${httpStatus < 500 ? 'Sender' : 'Receiver'}</Type>` +
      `<Code>${code}</Code><Message>${message}</Message></Error><RequestId>injected</RequestId></ErrorResponse>`,
  };
}

function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, target: URL, call: AwsCall): void {
  const upstream = request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      call.status = answer.statusCode;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => res.destroy());
  upstream.end(body);
}
