/**
 * The webhook read from its secret (a bare URL, or JSON with a format, template and headers), against
 * moto's Secrets Manager and SSM over real HTTP, and the Lambda app posting its drain notifications
 * to the URL it read there (nothing else names it). webhook-formats.test.ts posts each format.
 */
import { randomUUID } from 'node:crypto';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createLambdaApp } from '../../../src/app/lambda-app.js';
import { ConfigError } from '../../../src/errors.js';
import { sampleEvent } from '../../../src/events/samples.js';
import { SecretStore } from '../../../src/notify/secret-ref.js';
import { readWebhookTarget } from '../../../src/notify/webhook-secret.js';
import { urlTarget } from '../../../src/notify/webhook-target.js';
import { adminClients, uniqueSuffix } from '../../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../../bed/lambda.js';
import { motoCredentials } from '../../bed/moto.js';
import { captureOutput } from '../../reliability/capture-output.js';

const bed = inject('testbed');
const options = {
  region: bed.region,
  endpoints: { secretsmanager: bed.awsEndpoint, ssm: bed.awsEndpoint },
  credentials: motoCredentials,
};
const secrets = new SecretsManagerClient({
  region: bed.region,
  endpoint: bed.awsEndpoint,
  credentials: motoCredentials,
});
const ssm = new SSMClient({ region: bed.region, endpoint: bed.awsEndpoint, credentials: motoCredentials });

/** A fresh webhook URL: its path is the credential. */
const webhookUrl = () => `https://hooks.example.com/services/T0/B0/${randomUUID()}`;

async function secret(value: string): Promise<string> {
  const name = `eks-spot-drainer/webhook-${uniqueSuffix()}`;
  await secrets.send(new CreateSecretCommand({ Name: name, SecretString: value }));
  return name;
}

async function parameter(value: string, type: 'SecureString' | 'String' = 'SecureString'): Promise<string> {
  const name = `/eks-spot-drainer/webhook-${uniqueSuffix()}`;
  await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: type }));
  return name;
}

afterAll(() => {
  secrets.destroy();
  ssm.destroy();
});

describe('readWebhookTarget against moto', () => {
  it('reads the URL from a Secrets Manager secret', async () => {
    // Prepare
    const url = webhookUrl();
    const name = await secret(`${url}\n`);

    // Act
    const read = await readWebhookTarget({ store: SecretStore.SecretsManager, name }, options);

    // Assess
    expect(read).toEqual(urlTarget(url));
  });

  it('reads the URL from an SSM SecureString, decrypted', async () => {
    // Prepare
    const url = webhookUrl();
    const name = await parameter(url);

    // Act
    const read = await readWebhookTarget({ store: SecretStore.Ssm, name }, options);

    // Assess
    expect(read).toEqual(urlTarget(url));
  });

  it.each([
    [
      'a Secrets Manager secret',
      async (value: string) => ({ store: SecretStore.SecretsManager, name: await secret(value) }),
    ],
    [
      'an SSM SecureString',
      async (value: string) => ({ store: SecretStore.Ssm, name: await parameter(value) }),
    ],
  ] as const)('reads the format, template and headers kept with the URL in %s', async (_, store) => {
    // Prepare
    const url = webhookUrl();
    const ref = await store(
      JSON.stringify({
        url,
        format: 'teams',
        template: '{{cluster}}/{{node}}: {{outcome}}',
        headers: { 'X-Api-Key': 'key-XXXXsecretXXXX' },
      }),
    );

    // Act
    const read = await readWebhookTarget(ref, options);

    // Assess
    expect(read).toMatchObject({
      url,
      format: 'teams',
      template: { syntax: 'text' },
      headers: { 'x-api-key': 'key-XXXXsecretXXXX' },
    });
  });

  it.each([
    [
      'a plain String parameter (no secret)',
      async () => ({ store: SecretStore.Ssm, name: await parameter(webhookUrl(), 'String') }),
      /is not a SecureString/,
    ],
    [
      'a secret that does not exist',
      async () => ({ store: SecretStore.SecretsManager, name: 'eks-spot-drainer/none' }),
      /cannot read the webhook URL from Secrets Manager secret eks-spot-drainer\/none: ResourceNotFoundException/,
    ],
    [
      'a parameter that does not exist',
      async () => ({ store: SecretStore.Ssm, name: '/eks-spot-drainer/none' }),
      /cannot read the webhook URL from SSM parameter \/eks-spot-drainer\/none: ParameterNotFound/,
    ],
  ] as const)('cannot read %s, and says so without quoting the value', async (_, ref, message) => {
    // Act
    const error = (await readWebhookTarget(await ref(), options).catch((e: unknown) => e)) as Error;

    // Assess
    expect(error.name).toBe('WebhookSecretError');
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/hooks\.example\.com|hunter2/);
  });

  it.each([
    ['an http URL', 'http://hooks.example.com/services/T0/B0/x', /: does not hold an https URL$/],
    ['something that is not a URL', 'hunter2', /: does not hold an https URL$/],
    [
      'a template naming an unknown placeholder',
      JSON.stringify({
        url: 'https://hooks.example.com/services/T0/B0/x',
        format: 'teams',
        template: 'Node {{nodeName}} is {{outcome}}',
        headers: { Authorization: 'Bearer hunter2' },
      }),
      /: template: \{\{nodeName\}\} is not a placeholder \(did you mean \{\{node\}\}\?\)/,
    ],
    [
      'a json template that is not JSON once filled in',
      JSON.stringify({
        url: 'https://hooks.example.com/services/T0/B0/x',
        format: 'json',
        template: '{"text": "{{node}}",}',
        headers: { Authorization: 'Bearer hunter2' },
      }),
      /: template: is not valid JSON once its placeholders are filled in/,
    ],
    [
      'a Host header',
      JSON.stringify({ url: 'https://hooks.example.com/services/T0/B0/x', headers: { Host: 'hunter2' } }),
      /: headers\.Host: may not be set/,
    ],
  ])(
    'refuses a secret holding %s with a ConfigError, without quoting the value',
    async (_, value, message) => {
      // Prepare
      const name = await secret(value);

      // Act
      const error = (await readWebhookTarget({ store: SecretStore.SecretsManager, name }, options).catch(
        (e: unknown) => e,
      )) as Error;

      // Assess
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(new RegExp(`^WEBHOOK_URL_SECRET_NAME: Secrets Manager secret ${name}`));
      expect(error.message).toMatch(message);
      expect(error.message).not.toMatch(/hooks\.example\.com|hunter2/);
    },
  );
});

describe('the Lambda app with WEBHOOK_URL_SECRET_NAME', () => {
  const saved = { ...process.env };
  beforeAll(() => {
    Object.assign(process.env, lambdaEnv(bed));
  });
  afterAll(() => {
    process.env = saved;
    vi.restoreAllMocks();
  });

  it('posts the drain notifications to the URL its secret holds', async () => {
    // Prepare: the webhook receiver stands behind fetch; moto (the SDK's own HTTP) does not.
    const url = webhookUrl();
    const name = await secret(url);
    const posted: string[] = [];
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input) => {
      posted.push(String(input));
      return new Response('ok', { status: 200 });
    });
    const env = lambdaEnv(bed, { WEBHOOK_URL_SECRET_NAME: name });
    const app = createLambdaApp(env);
    const { instance } = await spotNodeWithInstance(
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

    // Assess
    expect(report.notices).toMatchObject([{ status: 'done' }]);
    expect(posted).toEqual([url, url]);
    expect(Object.values(env).join(' ')).not.toContain('hooks.example.com');
    expect(output.text).not.toContain(url);
    expect(output.jsonLines.filter((l) => l.message === 'notification failed')).toEqual([]);
  });
});
