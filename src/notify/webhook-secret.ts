/**
 * Where the webhook URL is kept: never in the template, the state file or the function's environment
 * (all readable with ReadOnlyAccess), but in AWS Secrets Manager or an SSM SecureString, named by
 * WEBHOOK_URL_SECRET_NAME (as aws-node-termination-handler's webhookURLSecretName) and read with a
 * role allowed that one secret. A Slack incoming-webhook URL is itself the credential. The secret
 * may also hold the format, a template and headers with the URL (webhook-target.ts).
 *
 * The SDK clients are imported on first use: a function without a webhook never loads them.
 */
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { type AwsCallOptions, callAws } from '../aws/aws-retry.js';
import { sdkClientConfig } from '../aws/clients.js';
import { ConfigError } from '../errors.js';
import { describeSecretRef, SecretStore, WebhookSecretError, type WebhookSecretRef } from './secret-ref.js';
import { parseWebhookSecret, type WebhookTarget } from './webhook-target.js';

/** How long reading the secret may take, retries included: a notification is a courtesy. */
export const secretReadTimeoutMs = 5_000;

export interface SecretReaderOptions {
  region: string;
  /** Per-store endpoints (moto in tests; AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_SSM). */
  endpoints?: Partial<Record<SecretStore, string>>;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  now?: () => number;
}

/**
 * Reads the webhook's secret and parses it: a bare https URL, or a JSON object with the URL, format,
 * template and headers. Throws a WebhookSecretError when the secret cannot be read, and a ConfigError
 * (naming WEBHOOK_URL_SECRET_NAME, the secret and, for a template, the placeholder at fault) when
 * what it holds is refused. No message quotes the URL or a header's value.
 */
export async function readWebhookTarget(
  ref: WebhookSecretRef,
  options: SecretReaderOptions,
): Promise<WebhookTarget> {
  const now = options.now ?? Date.now;
  const call: AwsCallOptions = { deadline: now() + secretReadTimeoutMs, now };
  const where = describeSecretRef(ref);
  let value: string | undefined;
  try {
    value =
      ref.store === SecretStore.Ssm
        ? await readParameter(ref.name, options, call)
        : await readSecret(ref.name, options, call);
  } catch (error) {
    if (error instanceof WebhookSecretError) throw error;
    const name = error instanceof Error ? error.name : 'Error';
    throw new WebhookSecretError(`cannot read the webhook URL from ${where}: ${name}`, { cause: error });
  }
  const target = parseWebhookSecret(value ?? '');
  if ('error' in target) throw new ConfigError('WEBHOOK_URL_SECRET_NAME', `${where}: ${target.error}`);
  return target;
}

function clientConfig(store: SecretStore, options: SecretReaderOptions) {
  return sdkClientConfig({ ...options, endpoint: options.endpoints?.[store] });
}

async function readSecret(
  name: string,
  options: SecretReaderOptions,
  call: AwsCallOptions,
): Promise<string | undefined> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient(clientConfig(SecretStore.SecretsManager, options));
  try {
    const output = await callAws(
      `GetSecretValue ${name}`,
      (abortSignal) => client.send(new GetSecretValueCommand({ SecretId: name }), { abortSignal }),
      call,
    );
    if (output.SecretString === undefined) {
      throw new WebhookSecretError(`Secrets Manager secret ${name} holds binary data, not a URL`);
    }
    return output.SecretString;
  } finally {
    client.destroy();
  }
}

async function readParameter(
  name: string,
  options: SecretReaderOptions,
  call: AwsCallOptions,
): Promise<string | undefined> {
  const { SSMClient, GetParameterCommand } = await import('@aws-sdk/client-ssm');
  const client = new SSMClient(clientConfig(SecretStore.Ssm, options));
  try {
    const output = await callAws(
      `GetParameter ${name}`,
      (abortSignal) =>
        client.send(new GetParameterCommand({ Name: name, WithDecryption: true }), { abortSignal }),
      call,
    );
    // A String parameter is readable by anyone with ssm:GetParameters* on the account: not a secret.
    if (output.Parameter?.Type !== 'SecureString') {
      throw new WebhookSecretError(`SSM parameter ${name} is not a SecureString`);
    }
    return output.Parameter.Value;
  } finally {
    client.destroy();
  }
}
