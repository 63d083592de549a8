/**
 * Each webhook format on the real path: the secret stored in moto, read by the function's own
 * reader, and the notification posted by fetch over HTTP to a receiver on 127.0.0.1, which records
 * the body and headers it got. The notifier posts to https URLs only and the receiver has no
 * certificate, so fetch takes the receiver's https URL over plain HTTP; nothing else is stood in for.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createLambdaApp } from '../../../src/app/lambda-app.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { SecretStore } from '../../../src/notify/secret-ref.js';
import { createWebhookNotifier } from '../../../src/notify/webhook.js';
import { readWebhookTarget } from '../../../src/notify/webhook-secret.js';
import { NoticeKind } from '../../../src/types.js';
import { adminClients, uniqueSuffix } from '../../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../../bed/lambda.js';
import { motoCredentials } from '../../bed/moto.js';
import { captureOutput } from '../../reliability/capture-output.js';

const bed = inject('testbed');
const secrets = new SecretsManagerClient({
  region: bed.region,
  endpoint: bed.awsEndpoint,
  credentials: motoCredentials,
});
const readerOptions = {
  region: bed.region,
  endpoints: { secretsmanager: bed.awsEndpoint },
  credentials: motoCredentials,
};

// Credentials that must reach the receiver and nothing else: no log line, no status.
const API_KEY = `key-${randomUUID()}`;
const SECRET_PATH = `/services/T0/B0/${randomUUID()}`;

interface Received {
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

const servers: Server[] = [];

/** A webhook receiver on 127.0.0.1 answering 200; its URL is https, as the notifier requires. */
async function startReceiver() {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return { url: `https://127.0.0.1:${port}${SECRET_PATH}`, received };
}

const realFetch = globalThis.fetch;

/** fetch, taking the receiver's https URL over plain HTTP (the receiver has no certificate). */
const overHttp: typeof fetch = (input, init) =>
  realFetch(String(input).replace(/^https:\/\/127\.0\.0\.1:/, 'http://127.0.0.1:'), init);

async function storeSecret(value: unknown): Promise<string> {
  const name = `eks-spot-drainer/webhook-${uniqueSuffix()}`;
  await secrets.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value) }));
  return name;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

afterAll(() => {
  secrets.destroy();
});

const info = {
  clusterName: bed.clusterName,
  nodeName: 'ip-10-0-1-5.ec2.internal',
  instanceId: 'i-0123456789abcdef0',
  kind: NoticeKind.SpotInterruption,
  eventId: randomUUID(),
  deadline: new Date('2025-03-01T12:02:00Z'),
};
const summary = {
  outcome: 'drained',
  evicted: 3,
  skipped: 1,
  blocked: 0,
  failed: 0,
  durationMs: 4_200,
  timeLeftMs: 100_000,
};

describe('each preset, read from its secret in moto and posted over HTTP', () => {
  it.each([
    ['slack', { text: expect.stringMatching(/^drained: node ip-10-0-1-5/), blocks: expect.any(Array) }],
    [
      'teams',
      {
        type: 'message',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.adaptive',
            contentUrl: null,
            content: expect.objectContaining({
              type: 'AdaptiveCard',
              version: '1.4',
              body: expect.any(Array),
            }),
          },
        ],
      },
    ],
    ['chime', { Content: expect.stringMatching(/^drained: node ip-10-0-1-5.* 3 evicted, 1 skipped/) }],
    ['json', expect.objectContaining({ event: 'drain-finished', cluster: bed.clusterName, evicted: 3 })],
  ])('posts the %s body', async (format, expected) => {
    // Prepare
    const receiver = await startReceiver();
    const name = await storeSecret({ url: receiver.url, format, headers: { 'X-Api-Key': API_KEY } });
    const notifier = createWebhookNotifier(
      () => readWebhookTarget({ store: SecretStore.SecretsManager, name }, readerOptions),
      overHttp,
    );

    // Act
    const status = await notifier.drainFinished(info, summary);

    // Assess
    expect(status).toEqual({ status: 'sent', httpStatus: 200 });
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request?.url).toBe(SECRET_PATH);
    expect(request?.headers).toMatchObject({ 'content-type': 'application/json', 'x-api-key': API_KEY });
    expect(JSON.parse(request?.body ?? '')).toEqual(expected);
  });
});

/** The Teams message the `teams` format wraps a template's text in. */
function teamsMessage(text: string) {
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [{ type: 'TextBlock', text, wrap: true }],
        },
      },
    ],
  };
}

describe('the Lambda app with a Teams template in its webhook secret', () => {
  const saved = { ...process.env };
  beforeAll(() => {
    Object.assign(process.env, lambdaEnv(bed));
  });
  afterAll(() => {
    process.env = saved;
    vi.restoreAllMocks();
  });

  it("posts each drain notification as a Teams message with the template's text and the secret's headers", async () => {
    // Prepare: the app posts with the global fetch; the SDK's own HTTP to moto does not go through it.
    const receiver = await startReceiver();
    const name = await storeSecret({
      url: receiver.url,
      format: 'teams',
      template:
        '[{{event}}] {{cluster}}/{{node}} ({{instanceId}}, {{kind}}): {{outcome}} {{evicted}} evicted',
      headers: { 'X-Api-Key': API_KEY },
    });
    vi.spyOn(globalThis, 'fetch').mockImplementation(overHttp);
    const app = createLambdaApp(lambdaEnv(bed, { WEBHOOK_URL_SECRET_NAME: name }));
    const { instance, node } = await spotNodeWithInstance(
      bed,
      adminClients(bed.cluster),
      `webhook-${uniqueSuffix()}`,
    );
    const output = captureOutput({ passThrough: false });

    // Act
    let report: Awaited<ReturnType<typeof app.handle>>;
    try {
      report = await app.handle(
        sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
        lambdaContext(`webhook-${randomUUID()}`),
      );
    } finally {
      output.stop();
    }

    // Assess: the started one has no outcome or count yet; the node had no pods to evict.
    const [notice] = report.notices;
    if (notice?.status !== 'done') throw new Error(`the notice was not acted on: ${JSON.stringify(notice)}`);
    const where = `${bed.clusterName}/${node.name} (${instance.instanceId}, spot-interruption)`;
    const bodies = receiver.received.map((request) => JSON.parse(request.body) as unknown);
    expect(bodies).toHaveLength(2);
    expect(bodies).toEqual(
      expect.arrayContaining([
        teamsMessage(`[drain-started] ${where}:   evicted`),
        teamsMessage(`[drain-finished] ${where}: ${notice.result.outcome} 0 evicted`),
      ]),
    );
    for (const request of receiver.received) {
      expect(request.url).toBe(SECRET_PATH);
      expect(request.headers).toMatchObject({
        'content-type': 'application/json',
        'user-agent': 'eks-spot-drainer',
        'x-api-key': API_KEY,
      });
    }
    expect(output.jsonLines.filter((l) => l.message === 'notification failed')).toEqual([]);
    expect(output.text).not.toContain(SECRET_PATH);
    expect(output.text).not.toContain(API_KEY);
  });
});
