/**
 * How WEBHOOK_URL_SECRET_NAME names the secret that holds the webhook URL, and what a URL read from
 * it must be. Pure: src/config.ts reads it without loading any AWS client.
 */

/** The stores a webhook URL may be read from. */
export const SecretStore = { SecretsManager: 'secretsmanager', Ssm: 'ssm' } as const;
export type SecretStore = (typeof SecretStore)[keyof typeof SecretStore];

/** A secret named by WEBHOOK_URL_SECRET_NAME: `ssm:<parameter name>`, or a Secrets Manager secret name. */
export interface WebhookSecretRef {
  store: SecretStore;
  name: string;
}

const SECRETS_MANAGER_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SSM_PARAMETER_NAME = /^[A-Za-z0-9_.\-/]{1,2048}$/;
const SSM_PREFIX = 'ssm:';

/**
 * Reads WEBHOOK_URL_SECRET_NAME. Returns the reference, or why the value is not one; the reason never
 * quotes the value, which may be a URL pasted by mistake.
 */
export function parseSecretRef(value: string): WebhookSecretRef | { error: string } {
  if (value.includes('://')) {
    return { error: 'holds a URL: store the URL in Secrets Manager or SSM and give the name of the secret' };
  }
  if (value.startsWith(SSM_PREFIX)) {
    const name = value.slice(SSM_PREFIX.length);
    if (!SSM_PARAMETER_NAME.test(name)) {
      return { error: 'expected ssm:<parameter name> (A-Z, a-z, 0-9, _ . - /)' };
    }
    return { store: SecretStore.Ssm, name };
  }
  if (!SECRETS_MANAGER_NAME.test(value)) {
    return {
      error: 'expected a Secrets Manager secret name (A-Z, a-z, 0-9, / _ + = . @ -) or ssm:<parameter name>',
    };
  }
  return { store: SecretStore.SecretsManager, name: value };
}

/** Where the reference points, for logs and errors: the name is no secret, the value is. */
export function describeSecretRef(ref: WebhookSecretRef): string {
  return ref.store === SecretStore.Ssm ? `SSM parameter ${ref.name}` : `Secrets Manager secret ${ref.name}`;
}

/** Why the webhook URL could not be had: safe to log (it never holds the value). */
export class WebhookSecretError extends Error {
  override name = 'WebhookSecretError';
}

/** Only an https URL is accepted: the message carries node names and event ids over the network. */
export function isHttpsUrl(url: string): boolean {
  return url.length <= 2048 && URL.canParse(url) && new URL(url).protocol === 'https:';
}
