import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { WebhookSecretError } from '../../../src/notify/secret-ref.js';
import { createWebhookNotifier, disabledNotifier, WEBHOOK_TIMEOUT_MS } from '../../../src/notify/webhook.js';
import { parseWebhookSecret, urlTarget, type WebhookTarget } from '../../../src/notify/webhook-target.js';
import { sampleInfo, sampleSummary } from './sample.js';

const info = sampleInfo;

const summary = sampleSummary();

// The path of a Slack webhook URL is its secret: it must never appear in a status.
const SECRET_PATH = '/services/T00000000/B00000000/XXXXsecretXXXX';

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on 127.0.0.1 that records each request and answers with `respond`. */
async function startReceiver(respond: (res: ServerResponse) => void) {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body });
      respond(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  servers.push(server);
  // The notifier posts to https URLs only; `plain` carries the request to this plain-HTTP receiver.
  return { url: `https://127.0.0.1:${port}${SECRET_PATH}`, received, port };
}

/** fetch, with the receiver's https URL taken over plain HTTP (the receiver has no certificate). */
const plain: typeof fetch = (input, init) => fetch(String(input).replace(/^https:/, 'http:'), init);

const servers: Server[] = [];

afterEach(async () => {
  vi.useRealTimers();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function answer(status: number, body: string) {
  return (res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(body);
  };
}

describe('createWebhookNotifier', () => {
  it.each([undefined, '', '   '])('sends nothing when the URL is %j', async (url) => {
    // Prepare
    const fetchImpl = vi.fn<typeof fetch>();

    // Act
    const notifier = createWebhookNotifier(url, fetchImpl);
    const started = await notifier.drainStarted(info);
    const finished = await notifier.drainFinished(info, summary);

    // Assess
    expect(notifier).toBe(disabledNotifier);
    expect(started).toEqual({ status: 'disabled' });
    expect(finished).toEqual({ status: 'disabled' });
    expect(fetchImpl).not.toHaveBeenCalled();
  });

  it('posts a Slack-compatible JSON message when a drain starts', async () => {
    // Prepare
    const receiver = await startReceiver(answer(200, 'ok'));

    // Act
    const status = await createWebhookNotifier(receiver.url, plain).drainStarted(info);

    // Assess
    expect(status).toEqual({ status: 'sent', httpStatus: 200 });
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe(SECRET_PATH);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers.authorization).toBeUndefined();
    const body = JSON.parse(request?.body ?? '') as { text: string; blocks: unknown[] };
    expect(Object.keys(body).sort()).toEqual(['blocks', 'text']);
    expect(body.text).toBe(
      'Draining node ip-10-0-1-5.ec2.internal (i-0123456789abcdef0) in cluster prod-a: ' +
        'Spot interruption warning, deadline 2025-03-01T12:02:00.000Z.',
    );
    expect(body.blocks).toHaveLength(2);
  });

  it('posts the summary when a drain finishes', async () => {
    // Prepare
    const receiver = await startReceiver(answer(200, 'ok'));

    // Act
    const status = await createWebhookNotifier(receiver.url, plain).drainFinished(info, summary);

    // Assess
    expect(status).toEqual({ status: 'sent', httpStatus: 200 });
    const body = JSON.parse(receiver.received[0]?.body ?? '') as { text: string };
    expect(body.text).toContain('drained: node ip-10-0-1-5.ec2.internal');
    expect(body.text).toContain('4 evicted, 2 skipped, 0 blocked, 0 failed; 1 min 20 s before the deadline.');
  });

  it('reports an HTTP 500 with the answer, without throwing or naming the URL', async () => {
    // Prepare
    const receiver = await startReceiver(answer(500, 'invalid_payload'));

    // Act
    const status = await createWebhookNotifier(receiver.url, plain).drainStarted(info);

    // Assess
    expect(status).toEqual({ status: 'failed', httpStatus: 500, reason: 'HTTP 500: invalid_payload' });
    expect(receiver.received).toHaveLength(1);
  });

  it('cuts the secret path out of an answer that echoes it', async () => {
    // Prepare: like Express's default 404 page.
    const receiver = await startReceiver(answer(404, `Cannot POST ${SECRET_PATH}`));

    // Act
    const status = await createWebhookNotifier(receiver.url, plain).drainStarted(info);

    // Assess
    expect(status).toEqual({ status: 'failed', httpStatus: 404, reason: 'HTTP 404: Cannot POST [path]' });
  });

  it('gives up after the timeout when the receiver never answers', async () => {
    // Prepare
    const receiver = await startReceiver(() => {});
    const started = performance.now();

    // Act
    const status = await createWebhookNotifier(receiver.url, plain, { timeoutMs: 150 }).drainStarted(info);

    // Assess: the reason says its own timer ended it, and not early. How soon after the timer the
    // promise settles is the machine's speed; the fake-timer test below pins the default bound.
    const elapsed = performance.now() - started;
    expect(status).toEqual({ status: 'failed', reason: 'timed out after 150 ms' });
    expect(elapsed).toBeGreaterThanOrEqual(140);
  });

  it('times out after two seconds by default, even when fetch ignores the abort signal', async () => {
    // Prepare
    vi.useFakeTimers();
    const hanging = vi.fn<typeof fetch>(() => new Promise<Response>(() => {}));
    const notifier = createWebhookNotifier('https://hooks.example.com/services/x', hanging);

    // Act
    const pending = notifier.drainStarted(info);
    await vi.advanceTimersByTimeAsync(WEBHOOK_TIMEOUT_MS);
    const status = await pending;

    // Assess
    expect(WEBHOOK_TIMEOUT_MS).toBe(2_000);
    expect(status).toEqual({ status: 'failed', reason: 'timed out after 2000 ms' });
    expect(hanging.mock.calls[0]?.[1]?.signal?.aborted).toBe(true);
  });

  it('reports a refused connection by its code only', async () => {
    // Prepare: a port that was just free and is closed again.
    const receiver = await startReceiver(answer(200, 'ok'));
    const closed = servers.pop()!;
    await new Promise((resolve) => closed.close(resolve));

    // Act
    const status = await createWebhookNotifier(receiver.url, plain).drainStarted(info);

    // Assess
    expect(status).toEqual({ status: 'failed', reason: 'network error (ECONNREFUSED)' });
  });

  it('never puts the URL in a failure reason', async () => {
    // Prepare
    const leaky = vi.fn<typeof fetch>(async (input) => {
      throw new TypeError(`Failed to parse URL from ${String(input)}`);
    });
    const url = `https://hooks.example.com${SECRET_PATH}`;

    // Act
    const status = await createWebhookNotifier(url, leaky).drainFinished(info, summary);

    // Assess
    expect(status).toEqual({ status: 'failed', reason: 'request failed (TypeError)' });
  });

  it.each(['file:///etc/passwd', 'http://hooks.example.com/services/x', 'not a url'])(
    'refuses %s, which is not https, without sending anything',
    async (url) => {
      // Prepare
      const fetchImpl = vi.fn<typeof fetch>();

      // Act
      const status = await createWebhookNotifier(url, fetchImpl).drainStarted(info);

      // Assess
      expect(status).toEqual({ status: 'failed', reason: 'the webhook URL is not an https URL' });
      expect(fetchImpl).not.toHaveBeenCalled();
    },
  );
});

describe('createWebhookNotifier with a URL read from a secret', () => {
  it('reads the URL on the first notification only, then posts every one to it', async () => {
    // Prepare
    const receiver = await startReceiver(answer(200, 'ok'));
    const read = vi.fn(async () => urlTarget(receiver.url));
    const notifier = createWebhookNotifier(read, plain);

    // Act
    expect(read).not.toHaveBeenCalled();
    const statuses = [
      await notifier.drainStarted(info),
      await notifier.drainFinished(info, summary),
      await notifier.drainStarted(info),
    ];

    // Assess
    expect(read).toHaveBeenCalledTimes(1);
    expect(statuses.map((s) => s.status)).toEqual(['sent', 'sent', 'sent']);
    expect(receiver.received).toHaveLength(3);
  });

  it('reports a failed read as the failure of that notification, and reads again the next time', async () => {
    // Prepare
    const receiver = await startReceiver(answer(200, 'ok'));
    const read = vi
      .fn<() => Promise<WebhookTarget>>()
      .mockRejectedValueOnce(
        new WebhookSecretError(
          'cannot read the webhook URL from Secrets Manager secret hooks: AccessDeniedException',
        ),
      )
      .mockResolvedValue(urlTarget(receiver.url));
    const notifier = createWebhookNotifier(read, plain);

    // Act
    const first = await notifier.drainStarted(info);
    const second = await notifier.drainStarted(info);

    // Assess
    expect(first).toEqual({
      status: 'failed',
      reason: 'cannot read the webhook URL from Secrets Manager secret hooks: AccessDeniedException',
    });
    expect(second).toEqual({ status: 'sent', httpStatus: 200 });
    expect(read).toHaveBeenCalledTimes(2);
  });

  it('never repeats what an unexpected read failure says (it may quote the value)', async () => {
    // Prepare
    const read = vi.fn(async (): Promise<WebhookTarget> => {
      throw new Error(`unexpected token in ${SECRET_PATH}`);
    });

    // Act
    const status = await createWebhookNotifier(read, vi.fn<typeof fetch>()).drainStarted(info);

    // Assess
    expect(status).toEqual({ status: 'failed', reason: 'cannot read the webhook URL' });
  });
});

describe('createWebhookNotifier with a format, a template and headers', () => {
  /** The target the secret would give for the receiver, with `extra` keys next to the URL. */
  function target(url: string, extra: Record<string, unknown>): WebhookTarget {
    const parsed = parseWebhookSecret(JSON.stringify({ url, ...extra }));
    if ('error' in parsed) throw new Error(`refused: ${parsed.error}`);
    return parsed;
  }

  it.each([
    [
      'slack',
      (body: Record<string, unknown>) => expect(Object.keys(body).sort()).toEqual(['blocks', 'text']),
    ],
    [
      'teams',
      (body: Record<string, unknown>) =>
        expect(body).toMatchObject({
          type: 'message',
          attachments: [
            { contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard' } },
          ],
        }),
    ],
    ['chime', (body: Record<string, unknown>) => expect(Object.keys(body)).toEqual(['Content'])],
    [
      'json',
      (body: Record<string, unknown>) =>
        expect(body).toMatchObject({ event: 'drain-finished', node: info.nodeName, evicted: 4 }),
    ],
  ] as const)('posts the %s preset as JSON over HTTP', async (format, assessBody) => {
    // Prepare
    const receiver = await startReceiver(answer(200, 'ok'));

    // Act
    const status = await createWebhookNotifier(target(receiver.url, { format }), plain).drainFinished(
      info,
      summary,
    );

    // Assess
    expect(status).toEqual({ status: 'sent', httpStatus: 200 });
    const [request] = receiver.received;
    expect(request?.headers['content-type']).toBe('application/json');
    assessBody(JSON.parse(request?.body ?? ''));
  });

  it("posts a Teams message with the template's text and the secret's headers", async () => {
    // Prepare
    const receiver = await startReceiver(answer(202, ''));
    const webhook = target(receiver.url, {
      format: 'teams',
      template: '{{cluster}}/{{node}}: {{outcome}} ({{evicted}} evicted)',
      headers: { 'X-Api-Key': 'key-XXXXsecretXXXX', 'User-Agent': 'drainer/1' },
    });

    // Act
    const status = await createWebhookNotifier(webhook, plain).drainFinished(info, summary);

    // Assess
    expect(status).toEqual({ status: 'sent', httpStatus: 202 });
    const [request] = receiver.received;
    expect(request?.headers['x-api-key']).toBe('key-XXXXsecretXXXX');
    expect(request?.headers['user-agent']).toBe('drainer/1');
    expect(request?.headers.host).toBe(`127.0.0.1:${receiver.port}`);
    expect(JSON.parse(request?.body ?? '').attachments[0].content.body).toEqual([
      { type: 'TextBlock', text: 'prod-a/ip-10-0-1-5.ec2.internal: drained (4 evicted)', wrap: true },
    ]);
  });

  it('cuts header values and the query out of an answer that echoes them', async () => {
    // Prepare: Chime keeps its token in the query.
    const receiver = await startReceiver((res) => {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end('bad key key-XXXXsecretXXXX for /hook?token=tok-XXXXsecretXXXX (token tok-XXXXsecretXXXX)');
    });
    const url = receiver.url.replace(SECRET_PATH, '/hook?token=tok-XXXXsecretXXXX');
    const webhook = target(url, { format: 'chime', headers: { 'X-Api-Key': 'key-XXXXsecretXXXX' } });

    // Act
    const status = await createWebhookNotifier(webhook, plain).drainStarted(info);

    // Assess
    expect(status).toEqual({
      status: 'failed',
      httpStatus: 401,
      reason: 'HTTP 401: bad key [header] for [path][query] (token [query])',
    });
  });

  it('reports a secret refused for its template by the reason, which names the placeholder', async () => {
    // Prepare
    const fetchImpl = vi.fn<typeof fetch>();
    const read = vi.fn(async (): Promise<WebhookTarget> => {
      throw new ConfigError(
        'WEBHOOK_URL_SECRET_NAME',
        'Secrets Manager secret hooks: template: {{nodeName}} is not a placeholder (did you mean {{node}}?)',
      );
    });

    // Act
    const status = await createWebhookNotifier(read, fetchImpl).drainStarted(info);

    // Assess
    expect(status).toEqual({
      status: 'failed',
      reason:
        'WEBHOOK_URL_SECRET_NAME: Secrets Manager secret hooks: template: {{nodeName}} is not a placeholder (did you mean {{node}}?)',
    });
    expect(fetchImpl).not.toHaveBeenCalled();
  });
});
