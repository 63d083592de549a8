'use strict';
/**
 * The webhook of drain notifications, by the name of the secret that holds its URL
 * (`--param webhookUrlSecretName=<Secrets Manager secret>` or `ssm:<SecureString parameter>`): the
 * WEBHOOK_URL_SECRET_NAME value, and an IAM policy that lets the function's role read that one secret.
 * The URL itself never passes through here, so it reaches neither the template, the state file nor
 * the function's environment.
 *
 * Used as `${file(./deploy/serverless/webhook.cjs):<key>}`.
 */

const { readString } = require('./params.cjs');

// The same rules as src/notify/secret-ref.ts, which the function applies again at start.
const SECRETS_MANAGER_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SSM_PARAMETER_NAME = /^[A-Za-z0-9_.\-/]{1,2048}$/;
// The role osls creates for the functions of the service.
const ROLE_LOGICAL_ID = 'IamRoleLambdaExecution';

/** The secret named by the params, or undefined; throws without ever quoting a URL. */
async function webhookSecret(resolveVariable) {
  if ((await readString(resolveVariable, 'webhookUrl')) !== '') {
    throw new Error(
      'param "webhookUrl" is no longer read: it put the URL, a credential, into the template and the function environment. ' +
        'Store the URL in Secrets Manager (or as an SSM SecureString) and pass --param webhookUrlSecretName=<name> (or ssm:<name>)',
    );
  }
  const value = await readString(resolveVariable, 'webhookUrlSecretName');
  if (value === '') return undefined;
  if (value.includes('://')) {
    throw new Error(
      'param "webhookUrlSecretName" holds a URL: store the URL in Secrets Manager or SSM and pass the name of the secret',
    );
  }
  if (value.startsWith('ssm:')) {
    const name = value.slice('ssm:'.length);
    if (!SSM_PARAMETER_NAME.test(name))
      throw new Error('param "webhookUrlSecretName": expected ssm:<parameter name>');
    return { store: 'ssm', name, value };
  }
  if (!SECRETS_MANAGER_NAME.test(value)) {
    throw new Error(
      'param "webhookUrlSecretName": expected a Secrets Manager secret name or ssm:<parameter name>',
    );
  }
  return { store: 'secretsmanager', name: value, value };
}

/** The one statement that reads the secret: its own ARN, in this account and region. */
function readStatement(secret) {
  if (secret.store === 'ssm') {
    // Parameter ARNs drop the leading slash of a path name: parameter/a/b for /a/b.
    const path = secret.name.replace(/^\//, '');
    return {
      Effect: 'Allow',
      Action: 'ssm:GetParameter',
      Resource: {
        'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/${path}`,
      },
    };
  }
  // Secrets Manager appends six random characters to a secret's ARN: exactly six, so that the name
  // "webhook" cannot also match a secret named "webhook-old".
  return {
    Effect: 'Allow',
    Action: 'secretsmanager:GetSecretValue',
    Resource: {
      'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${secret.name}-??????`,
    },
  };
}

module.exports = {
  /** WEBHOOK_URL_SECRET_NAME: the secret's name as given, or empty (no notifications). */
  secretName: async ({ resolveVariable }) => (await webhookSecret(resolveVariable))?.value ?? '',
  /** A `resources` array item: the role's permission to read the secret, or nothing without one. */
  readPolicy: async ({ resolveVariable }) => {
    const secret = await webhookSecret(resolveVariable);
    if (!secret) return {};
    return {
      Resources: {
        WebhookSecretReadPolicy: {
          Type: 'AWS::IAM::RolePolicy',
          Properties: {
            RoleName: { Ref: ROLE_LOGICAL_ID },
            PolicyName: 'read-webhook-url',
            PolicyDocument: { Version: '2012-10-17', Statement: [readStatement(secret)] },
          },
        },
      },
    };
  },
};
