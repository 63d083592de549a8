import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createKubeApis, type KubeApis } from '../../../src/kube/connection.js';
import { type SelfSignedCertificate, selfSignedCertificate } from '../../bed/tls.js';

/** How long the server below takes to answer each request. */
const answerMs = 200;
/**
 * The clients' request timeout: over ten answers, so that the queue below outlasts it many times over
 * while one request, clocked from its socket, has seconds to spare on a loaded machine.
 */
const timeoutMs = 2_500;

let certificate: SelfSignedCertificate;
let server: Server;
let apis: KubeApis | undefined;

/** An HTTPS server that answers a GET of node `name` with that node after `delayFor(name)` ms. */
async function startSlowServer(delayFor: (name: string) => number): Promise<string> {
  server = createServer({ cert: certificate.certPem, key: certificate.keyPem }, (request, response) => {
    const name = decodeURIComponent(request.url?.split('/').at(-1) ?? '');
    setTimeout(() => {
      // With a length, as the API server sends small objects: node-fetch 2 mistakes a chunked answer
      // on a socket the next queued request already holds for a premature close (node-fetch#1767).
      const body = JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name } });
      response.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      response.end(body);
    }, delayFor(name));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function kubeConfig(server: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'slow', server, caData: certificate.caData, skipTLSVerify: false }],
    users: [{ name: 'drainer', token: 'not-a-secret' }],
    contexts: [{ name: 'slow', cluster: 'slow', user: 'drainer' }],
    currentContext: 'slow',
  });
  return kc;
}

beforeAll(async () => {
  certificate = await selfSignedCertificate();
});
beforeEach(() => {
  apis = undefined;
});
afterEach(async () => {
  apis?.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('createKubeApis', () => {
  it('starts a request’s timeout when it gets a socket, not while it waits for one', async () => {
    // Prepare: one socket, sixteen requests of 200 ms each, a 2.5 s timeout. Queued, the last one
    // waits ~3 s for the socket: a clock started before that wait aborts the last four.
    const url = await startSlowServer(() => answerMs);
    apis = createKubeApis(kubeConfig(url), { maxSockets: 1, requestTimeoutMs: timeoutMs });
    const names = Array.from({ length: 16 }, (_, i) => `node-${i}`);

    // Act
    const outcomes = await Promise.allSettled(names.map((name) => apis!.core.readNode({ name })));

    // Assess
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.metadata?.name : o.reason))).toEqual(
      names,
    );
  });

  it('still aborts a request the server does not answer in time once it is sent', async () => {
    // Prepare
    const url = await startSlowServer((name) => (name === 'stuck' ? 60_000 : answerMs));
    apis = createKubeApis(kubeConfig(url), { maxSockets: 1, requestTimeoutMs: timeoutMs });

    // Act
    const [stuck, next] = await Promise.allSettled([
      apis.core.readNode({ name: 'stuck' }),
      apis.core.readNode({ name: 'next' }),
    ]);

    // Assess: aborted (a transient error the callers retry), and the queue behind it moves on.
    expect(stuck.status).toBe('rejected');
    expect((stuck as PromiseRejectedResult).reason).toMatchObject({ name: 'AbortError' });
    expect(next).toMatchObject({ status: 'fulfilled', value: { metadata: { name: 'next' } } });
  });
});
