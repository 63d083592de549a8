/**
 * Packages the service with osls (offline: a dead AWS endpoint makes any AWS call fail) and checks
 * the CloudFormation template it would deploy: cfn-lint, the exact event patterns, the dead-letter
 * wiring, least-privilege IAM, the EKS access entries, and the bundle in the zip.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Rejection } from '../../src/app/verify-notice.js';
import { configVariables } from '../../src/config.js';
import { powertoolsMetrics } from '../../src/observability/metrics.js';
import { NoticeKind } from '../../src/types.js';
import { dashboardMetrics, emfMetrics, metricKey } from '../support/dashboard-metrics.js';
import { readZip, unpackZip } from '../support/zip.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const serverlessBin = join(root, 'node_modules/osls/bin/serverless.js');
const TEMPLATE = 'cloudformation-template-update-stack.json';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON.
type Json = any;
interface Resource {
  Type: string;
  Properties: Json;
}

/** The environment of an offline package: dummy credentials and an endpoint nothing listens on. */
const offlineEnv: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_'))),
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'offline-dummy-secret',
  AWS_REGION: 'us-east-1',
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  AWS_EC2_METADATA_DISABLED: 'true',
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
};

interface Packaged {
  dir: string;
  template: { Resources: Record<string, Resource>; Outputs: Json };
}

const workDirs: string[] = [];

async function packageService(params: string[]): Promise<Packaged> {
  const dir = await mkdtemp(join(tmpdir(), 'sls-template-'));
  workDirs.push(dir);
  const args = [serverlessBin, 'package', '--stage', 'ci', '--package', dir];
  for (const param of params) args.push('--param', param);
  await run(process.execPath, args, { cwd: root, env: offlineEnv, maxBuffer: 16 * 1024 * 1024 });
  const template = JSON.parse(await readFile(join(dir, TEMPLATE), 'utf8'));
  return { dir, template };
}

function resourcesOfType(template: Packaged['template'], type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

function rulesByName(template: Packaged['template']): Map<string, Resource> {
  return new Map(
    resourcesOfType(template, 'AWS::Events::Rule').map(([, rule]) => [rule.Properties.Name, rule]),
  );
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Every statement of every inline role policy, and of the policies attached to the role (AWS::IAM::RolePolicy). */
function roleStatements(template: Packaged['template']): Json[] {
  return [
    ...resourcesOfType(template, 'AWS::IAM::Role').flatMap(([, role]) =>
      (role.Properties.Policies ?? []).flatMap((policy: Json) => policy.PolicyDocument.Statement),
    ),
    ...resourcesOfType(template, 'AWS::IAM::RolePolicy').flatMap(
      ([, policy]) => policy.Properties.PolicyDocument.Statement,
    ),
  ];
}

/**
 * Whether an IAM resource pattern (an ARN with * and ?, as a Fn::Sub string) matches an ARN, with
 * the pseudo parameters of account 123456789012 in us-east-1.
 */
function iamMatches(pattern: Json, arn: string): boolean {
  const pseudo: Record<string, string> = { Partition: 'aws', Region: 'us-east-1', AccountId: '123456789012' };
  const text = (typeof pattern === 'string' ? pattern : (pattern['Fn::Sub'] as string)).replace(
    /\$\{AWS::(\w+)\}/g,
    (_, name: string) => pseudo[name] ?? '',
  );
  const regex = text
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${regex}$`).test(arn);
}

const CLUSTERS = ['prod-a', 'prod-b'];
const DLQ_ARN = { 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] };

// Every rule matches only this account's and region's events.
const here = { account: [{ Ref: 'AWS::AccountId' }], region: [{ Ref: 'AWS::Region' }] };

// The rule of each kind, by the name serverless.yml gives it, with the exact pattern it must have.
const expectedPatterns: Record<string, Json> = {
  'eks-spot-drainer-ci-spot-interruption': {
    source: ['aws.ec2'],
    ...here,
    'detail-type': ['EC2 Spot Instance Interruption Warning'],
  },
  'eks-spot-drainer-ci-rebalance': {
    source: ['aws.ec2'],
    ...here,
    'detail-type': ['EC2 Instance Rebalance Recommendation'],
  },
  'eks-spot-drainer-ci-state-change': {
    source: ['aws.ec2'],
    ...here,
    'detail-type': ['EC2 Instance State-change Notification'],
    detail: { state: ['stopping', 'shutting-down', 'stopped', 'terminated'] },
  },
  'eks-spot-drainer-ci-instance-running': {
    source: ['aws.ec2'],
    ...here,
    'detail-type': ['EC2 Instance State-change Notification'],
    detail: { state: ['running'] },
  },
  'eks-spot-drainer-ci-scheduled-change': {
    source: ['aws.health'],
    ...here,
    'detail-type': ['AWS Health Event'],
    detail: { service: ['EC2'], eventTypeCategory: ['scheduledChange'] },
  },
  'eks-spot-drainer-ci-asg-terminate': {
    source: ['aws.autoscaling'],
    ...here,
    'detail-type': ['EC2 Instance-terminate Lifecycle Action'],
  },
  'eks-spot-drainer-ci-capacity-reservation': {
    source: ['aws.ec2'],
    ...here,
    'detail-type': ['EC2 Capacity Reservation Instance Interruption Warning'],
  },
  'eks-spot-drainer-ci-asg-launch': {
    source: ['aws.autoscaling'],
    ...here,
    'detail-type': ['EC2 Instance-launch Lifecycle Action'],
  },
};

const RECONCILE_RULE = 'eks-spot-drainer-ci-reconcile';

let main: Packaged;
let switchedOff: Packaged;
let withSecret: Packaged;
let withParameter: Packaged;

/** A bus of another account, for outcome events gathered in one place. */
const CENTRAL_BUS = 'arn:aws:events:us-east-1:210987654321:event-bus/central';

/** A webhook URL as Slack hands them out: the whole URL is the credential. */
const WEBHOOK_URL = 'https://hooks.slack.com/services/T0TEST0000/B0TEST0000/webhookTokenMustNotLeak';

/** Runs a package that must fail; returns everything it printed. */
async function packageFails(params: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sls-template-'));
  workDirs.push(dir);
  const args = [serverlessBin, 'package', '--stage', 'ci', '--package', dir];
  for (const param of params) args.push('--param', param);
  const outcome = await run(process.execPath, args, {
    cwd: root,
    env: offlineEnv,
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    () => undefined,
    (error: { stdout: string; stderr: string }) => `${error.stdout}${error.stderr}`,
  );
  if (outcome === undefined) throw new Error(`serverless package ${params.join(' ')} succeeded`);
  return outcome;
}

beforeAll(async () => {
  // Sequential: both runs share the service's .esbuild work folder.
  main = await packageService([`clusters=${CLUSTERS.join(',')}`]);
  switchedOff = await packageService([
    'clusters=prod-a',
    'dashboard=false',
    'enableStateChangeDraining=false',
    'enableRebalanceMonitoring=false',
    'releaseOnRunning=false',
    'enableAsgLaunchHooks=false',
    'createAccessEntries=false',
    'reconcileIntervalMinutes=0',
    'reservedConcurrency=150',
    'provisionedConcurrency=5',
    'sourceMaps=true',
    'outcomeEvents=false',
  ]);
  withSecret = await packageService([
    'clusters=prod-a',
    'webhookUrlSecretName=eks-spot-drainer/webhook',
    'outcomeEventBus=drains',
  ]);
  withParameter = await packageService([
    'clusters=prod-a',
    'webhookUrlSecretName=ssm:/eks-spot-drainer/webhook',
    `outcomeEventBus=${CENTRAL_BUS}`,
  ]);
}, 600_000);

afterAll(async () => {
  await Promise.all(workDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('serverless package', () => {
  it('produces a template cfn-lint accepts', async () => {
    // Prepare
    const { stdout: venvBin } = await run('bash', [join(root, 'scripts/python-venv.sh')], { cwd: root });
    const cfnLint = join(venvBin.trim(), 'cfn-lint');

    // Act
    const lint = await run(cfnLint, [join(main.dir, TEMPLATE)], { cwd: root }).then(
      ({ stdout }) => ({ code: 0, output: stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, output: error.stdout }),
    );

    // Assess
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
  }, 120_000);

  it('creates one enabled rule per kind with the exact event pattern, and the reconcile schedule', () => {
    // Act
    const rules = rulesByName(main.template);

    // Assess
    expect([...rules.keys()].sort()).toEqual([...Object.keys(expectedPatterns), RECONCILE_RULE].sort());
    for (const [name, pattern] of Object.entries(expectedPatterns)) {
      expect(rules.get(name)?.Properties.EventPattern, name).toEqual(pattern);
      expect(rules.get(name)?.Properties.State, name).toBe('ENABLED');
    }
    expect(rules.get(RECONCILE_RULE)?.Properties).toMatchObject({
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
    });
    expect(rules.get(RECONCILE_RULE)?.Properties.EventPattern).toBeUndefined();
  });

  it('dead-letters what EventBridge cannot deliver and what fails every Lambda retry', () => {
    // Prepare
    const { Resources } = main.template;
    const rules = rulesByName(main.template);

    // Assess: the queue
    expect(Resources.DeadLetterQueue?.Type).toBe('AWS::SQS::Queue');
    // Assess: every rule target retries, then dead-letters
    for (const [name, rule] of rules) {
      const [target] = rule.Properties.Targets;
      expect(target.DeadLetterConfig, name).toEqual({ Arn: DLQ_ARN });
      expect(target.RetryPolicy, name).toEqual({ MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 20 });
    }
    // Assess: failed async invocations go to the queue
    const [[, invokeConfig]] = resourcesOfType(main.template, 'AWS::Lambda::EventInvokeConfig') as [
      [string, Resource],
    ];
    expect(invokeConfig.Properties.DestinationConfig).toEqual({ OnFailure: { Destination: DLQ_ARN } });
    expect(invokeConfig.Properties.MaximumRetryAttempts).toBe(2);
    // Assess: only these rules may send to the queue
    const [allow] = Resources.DeadLetterQueuePolicy?.Properties.PolicyDocument.Statement ?? [];
    expect(allow.Principal).toEqual({ Service: 'events.amazonaws.com' });
    const sourceArns = allow.Condition.ArnEquals['aws:SourceArn'].map((arn: Json) => arn['Fn::Sub']);
    expect(sourceArns.sort()).toEqual(
      [...rules.keys()]
        .map((name) => `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/${name}`)
        .sort(),
    );
    // Assess: someone hears about dead letters and errors
    const alarms = resourcesOfType(main.template, 'AWS::CloudWatch::Alarm').map(
      ([, alarm]) => alarm.Properties,
    );
    expect(alarms.map((alarm) => `${alarm.Namespace} ${alarm.MetricName}`).sort()).toEqual([
      'AWS/Lambda Errors',
      'AWS/SQS ApproximateNumberOfMessagesVisible',
    ]);
  });

  it('grants Resource "*" only to the reads that support nothing narrower', () => {
    // Act
    const statements = roleStatements(main.template);
    const wildcard = statements.filter((statement) => asList(statement.Resource).includes('*'));

    // Assess
    expect(wildcard).toEqual([
      {
        Effect: 'Allow',
        Action: [
          'ec2:DescribeInstances',
          'ec2:DescribeInstanceStatus',
          'autoscaling:DescribeAutoScalingInstances',
        ],
        Resource: '*',
      },
    ]);
    const actions = statements.flatMap((statement) => asList(statement.Action));
    expect(actions).not.toContain('cloudwatch:PutMetricData');
    const sendToQueue = statements.filter((statement) =>
      asList(statement.Action).includes('sqs:SendMessage'),
    );
    expect(sendToQueue.map((statement) => statement.Resource)).toEqual([DLQ_ARN]);
    // No VPC was asked for, so no VPC managed policy either.
    const [[, role]] = resourcesOfType(main.template, 'AWS::IAM::Role') as [[string, Resource]];
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('lets the function invoke itself, and no other function, for the fan-out of Health events', () => {
    // Act
    const invoke = roleStatements(main.template).filter((statement) =>
      asList(statement.Action).some((action: string) => action.startsWith('lambda:')),
    );
    const env = main.template.Resources.InterruptionLambdaFunction?.Properties.Environment.Variables;
    const name = main.template.Resources.InterruptionLambdaFunction?.Properties.FunctionName;

    // Assess
    const arn = `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${name}`;
    expect(invoke).toEqual([
      {
        Effect: 'Allow',
        Action: ['lambda:InvokeFunction'],
        // The function, and its alias when provisionedConcurrency is set.
        Resource: [{ 'Fn::Sub': arn }, { 'Fn::Sub': `${arn}:provisioned` }],
      },
    ]);
    expect(env.FAN_OUT_EVENTS).toBe('true');
  });

  it('lets the role complete lifecycle actions only on groups tagged for a managed cluster', () => {
    // Act
    const lifecycle = roleStatements(main.template).filter((statement) =>
      asList(statement.Action).some((action: string) => /^autoscaling:.*LifecycleAction/.test(action)),
    );

    // Assess: one statement for EKS managed node groups, one per cluster for self-managed groups.
    const actions = ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'];
    const everyGroup = [
      {
        'Fn::Sub': `arn:\${AWS::Partition}:autoscaling:\${AWS::Region}:\${AWS::AccountId}:autoScalingGroup:*:autoScalingGroupName/*`,
      },
    ];
    expect(lifecycle).toEqual([
      {
        Sid: 'ManagedNodeGroupsOfManagedClusters',
        Effect: 'Allow',
        Action: actions,
        Resource: everyGroup,
        Condition: { StringEquals: { 'autoscaling:ResourceTag/eks:cluster-name': CLUSTERS } },
      },
      ...CLUSTERS.map((cluster, i) => ({
        Sid: `GroupsTaggedForCluster${i + 1}`,
        Effect: 'Allow',
        Action: actions,
        Resource: everyGroup,
        Condition: { Null: { [`autoscaling:ResourceTag/kubernetes.io/cluster/${cluster}`]: 'false' } },
      })),
    ]);
  });

  it('writes logs only to its own log group: no CreateLogGroup, no wildcard reaching another stage', () => {
    // Prepare: the log group the stack creates, and those of stages whose names start the same.
    const own = '/aws/lambda/eks-spot-drainer-ci-interruption';
    const logGroupArn = (group: string) => `arn:aws:logs:us-east-1:123456789012:log-group:${group}`;
    const others = [
      '/aws/lambda/eks-spot-drainer-ci-2-interruption',
      '/aws/lambda/eks-spot-drainer-cix-interruption',
    ];

    // Act
    const statements = roleStatements(main.template);
    const logs = statements.filter((statement) =>
      asList(statement.Action).some((action: string) => action.startsWith('logs:')),
    );
    const [[, logGroup]] = resourcesOfType(main.template, 'AWS::Logs::LogGroup') as [[string, Resource]];

    // Assess
    expect(logGroup.Properties.LogGroupName).toBe(own);
    expect(statements.flatMap((statement) => asList(statement.Action))).not.toContain('logs:CreateLogGroup');
    expect(logs.map((statement) => statement.Action)).toEqual([
      ['logs:CreateLogStream'],
      ['logs:PutLogEvents'],
    ]);
    const [streams, events] = logs.map((statement) => asList(statement.Resource));
    expect(streams!.some((pattern) => iamMatches(pattern, `${logGroupArn(own)}:*`))).toBe(true);
    expect(
      events!.some((pattern) => iamMatches(pattern, `${logGroupArn(own)}:log-stream:2026/01/01/[$LATEST]ab`)),
    ).toBe(true);
    for (const other of others) {
      for (const arn of [
        logGroupArn(other),
        `${logGroupArn(other)}:*`,
        `${logGroupArn(other)}:log-stream:x`,
      ]) {
        expect(
          [...streams!, ...events!].some((pattern) => iamMatches(pattern, arn)),
          arn,
        ).toBe(false);
      }
    }
  });

  it('lets the role describe exactly the managed clusters', () => {
    // Act
    const eksStatements = roleStatements(main.template).filter((statement) =>
      asList(statement.Action).some((action: string) => action.startsWith('eks:')),
    );

    // Assess
    expect(eksStatements).toHaveLength(1);
    expect(asList(eksStatements[0].Action)).toEqual(['eks:DescribeCluster']);
    expect(eksStatements[0].Resource).toEqual(
      CLUSTERS.map((name) => ({
        'Fn::Sub': `arn:\${AWS::Partition}:eks:\${AWS::Region}:\${AWS::AccountId}:cluster/${name}`,
      })),
    );
  });

  it('maps the role to the eks-spot-drainer group in each cluster, with no access policy', () => {
    // Act
    const entries = resourcesOfType(main.template, 'AWS::EKS::AccessEntry').map(
      ([, entry]) => entry.Properties,
    );

    // Assess
    expect(entries).toEqual(
      CLUSTERS.map((name) => ({
        ClusterName: name,
        PrincipalArn: { 'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'] },
        KubernetesGroups: ['eks-spot-drainer'],
        Type: 'STANDARD',
      })),
    );
    expect(JSON.stringify(main.template)).not.toContain('system:masters');
    expect(resourcesOfType(main.template, 'AWS::EKS::AccessPolicyAssociation')).toEqual([]);
  });

  it('runs Node.js 22 on arm64 with every configuration variable set', () => {
    // Act
    const fn = main.template.Resources.InterruptionLambdaFunction?.Properties;

    // Assess
    expect(fn.Runtime).toBe('nodejs22.x');
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.Handler).toBe('handlers/interruption.handler');
    const env = fn.Environment.Variables;
    // Outlives the longest drain without a deadline, and Lambda's limit holds.
    expect(fn.Timeout).toBeGreaterThan(Number(env.DRAIN_TIMEOUT_SECONDS));
    expect(fn.Timeout).toBeLessThanOrEqual(900);
    expect(env.MANAGED_CLUSTERS).toBe('prod-a,prod-b');
    for (const variable of configVariables) {
      expect(env, variable.name).toHaveProperty(variable.name);
    }
    expect(env).toMatchObject({
      POWERTOOLS_SERVICE_NAME: 'eks-spot-drainer',
      POWERTOOLS_METRICS_NAMESPACE: 'EksSpotDrainer',
      // No source maps read at load by default: they cost every cold start (settings.cjs nodeOptions).
      NODE_OPTIONS: '',
    });
    expect(fn.VpcConfig).toBeUndefined();
    // A reservation by default: a wave of Spot warnings starts at once, a flood cannot take the account's pool.
    expect(fn.ReservedConcurrentExecutions).toBe(100);
  });

  it('disables the rules of switched-off kinds and skips access entries on request', () => {
    // Act
    const rules = rulesByName(switchedOff.template);
    const states = Object.fromEntries([...rules].map(([name, rule]) => [name, rule.Properties.State]));
    const env = switchedOff.template.Resources.InterruptionLambdaFunction?.Properties.Environment.Variables;

    // Assess
    expect(states).toEqual({
      'eks-spot-drainer-ci-spot-interruption': 'ENABLED',
      'eks-spot-drainer-ci-rebalance': 'DISABLED',
      'eks-spot-drainer-ci-state-change': 'DISABLED',
      'eks-spot-drainer-ci-instance-running': 'DISABLED',
      'eks-spot-drainer-ci-scheduled-change': 'ENABLED',
      'eks-spot-drainer-ci-asg-terminate': 'ENABLED',
      'eks-spot-drainer-ci-capacity-reservation': 'ENABLED',
      'eks-spot-drainer-ci-asg-launch': 'DISABLED',
      [RECONCILE_RULE]: 'DISABLED',
    });
    expect(env.ENABLE_STATE_CHANGE_DRAINING).toBe('false');
    expect(env.RELEASE_ON_RUNNING).toBe('false');
    expect(env.ENABLE_ASG_LAUNCH_HOOKS).toBe('false');
    expect(resourcesOfType(switchedOff.template, 'AWS::EKS::AccessEntry')).toEqual([]);
    expect(resourcesOfType(switchedOff.template, 'AWS::CloudWatch::Dashboard')).toEqual([]);
  });

  it('builds a dashboard of exactly the metrics the function writes, under their dimensions', () => {
    // Prepare: what src/observability/metrics.ts writes through Powertools, every call once
    const env = main.template.Resources.InterruptionLambdaFunction?.Properties.Environment.Variables;
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const metrics = new Metrics({
      namespace: env.POWERTOOLS_METRICS_NAMESPACE,
      serviceName: env.POWERTOOLS_SERVICE_NAME,
    });
    const sink = powertoolsMetrics(metrics);
    for (const kind of Object.values(NoticeKind)) sink.noticeReceived(kind);
    for (const outcome of ['drained', 'cordoned', 'deadline-reached', 'handed-off']) {
      sink.drainFinished({
        outcome,
        podsEvicted: 1,
        podsBlocked: 1,
        podsFailed: 1,
        durationMs: 1,
        timeLeftMs: 1,
      });
    }
    sink.invalidEvent();
    sink.ignoredEvent();
    sink.error();
    for (const reason of Object.values(Rejection)) sink.rejected(reason, 1);
    sink.reconciled({ nodes: 1, released: 1, outOfService: 1, drained: 1, failed: 1 });
    sink.outcomeEvents({ sent: 1, failed: 1 });
    sink.instanceRunning({ marked: true, released: true });
    sink.hookWithVolumesAttached();
    sink.fannedOut(1);
    for (const outcome of ['continued', 'not-ready', 'retried'] as const) sink.launchHook(outcome);
    metrics.publishStoredMetrics();
    const lines = stdout.mock.calls
      .flatMap(([chunk]) => String(chunk).split('\n'))
      .filter((l) => l.startsWith('{'));
    stdout.mockRestore();
    const written = emfMetrics(lines.map((line) => JSON.parse(line)));

    // Act
    const [[, dashboard]] = resourcesOfType(main.template, 'AWS::CloudWatch::Dashboard') as [
      [string, Resource],
    ];
    const body = JSON.parse(dashboard.Properties.DashboardBody['Fn::Sub']);
    const widgets = dashboardMetrics(body);

    // Assess: one to one, dimensions included (a widget with other dimensions would stay empty)
    const ours = widgets.filter((w) => w.namespace === env.POWERTOOLS_METRICS_NAMESPACE);
    expect([...new Set(ours.map(metricKey))].sort()).toEqual([...new Set(written.map(metricKey))].sort());
    expect(dashboard.Properties.DashboardName).toBe('eks-spot-drainer-ci');
    // Assess: Lambda's and the dead-letter queue's metrics name this stack's function and queue
    const placeholder = (name: string) => `\${${name}}`;
    const functionName = { FunctionName: placeholder('InterruptionLambdaFunction') };
    expect(widgets.filter((w) => w.namespace.startsWith('AWS/')).map((w) => [w.name, w.dimensions])).toEqual([
      ['Invocations', functionName],
      ['Errors', functionName],
      ['Throttles', functionName],
      ['ApproximateNumberOfMessagesVisible', { QueueName: placeholder('DeadLetterQueue.QueueName') }],
    ]);
    expect(main.template.Resources.InterruptionLambdaFunction?.Type).toBe('AWS::Lambda::Function');
    expect(main.template.Resources.DeadLetterQueue?.Type).toBe('AWS::SQS::Queue');
    // Assess: every widget fits CloudWatch's 24-column grid without overlapping another
    const cells = new Set<string>();
    for (const w of body.widgets) {
      expect(w.x + w.width).toBeLessThanOrEqual(24);
      for (let x = w.x; x < w.x + w.width; x++)
        for (let y = w.y; y < w.y + w.height; y++) {
          expect(cells.has(`${x},${y}`), `${w.properties.title} at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
    }
  });

  it('names the webhook secret and lets the role read that one Secrets Manager secret', () => {
    // Act
    const env = withSecret.template.Resources.InterruptionLambdaFunction?.Properties.Environment.Variables;
    const policies = resourcesOfType(withSecret.template, 'AWS::IAM::RolePolicy')
      .filter(([id]) => id === 'WebhookSecretReadPolicy')
      .map(([, p]) => p.Properties);

    // Assess
    expect(env.WEBHOOK_URL_SECRET_NAME).toBe('eks-spot-drainer/webhook');
    expect(env).not.toHaveProperty('WEBHOOK_URL');
    expect(policies).toEqual([
      {
        RoleName: { Ref: 'IamRoleLambdaExecution' },
        PolicyName: 'read-webhook-url',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: 'secretsmanager:GetSecretValue',
              // Exactly the six random characters Secrets Manager appends: no other secret matches.
              Resource: {
                'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:eks-spot-drainer/webhook-??????`,
              },
            },
          ],
        },
      },
    ]);
  });

  it('lets the role read that one SSM parameter when the secret is a SecureString', () => {
    // Act
    const env = withParameter.template.Resources.InterruptionLambdaFunction?.Properties.Environment.Variables;
    const policy = withParameter.template.Resources.WebhookSecretReadPolicy!;

    // Assess
    expect(env.WEBHOOK_URL_SECRET_NAME).toBe('ssm:/eks-spot-drainer/webhook');
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: 'ssm:GetParameter',
        Resource: {
          'Fn::Sub': `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/eks-spot-drainer/webhook`,
        },
      },
    ]);
  });

  it('grants no secret at all without a webhook', () => {
    // Act
    const env = main.template.Resources.InterruptionLambdaFunction?.Properties.Environment.Variables;
    const actions = [
      ...roleStatements(main.template),
      ...resourcesOfType(main.template, 'AWS::IAM::RolePolicy').flatMap(
        ([, p]) => p.Properties.PolicyDocument.Statement,
      ),
    ].flatMap((statement) => asList(statement.Action));

    // Assess
    expect(env.WEBHOOK_URL_SECRET_NAME).toBe('');
    expect(actions.filter((action: string) => /^(secretsmanager|ssm|kms):/.test(action))).toEqual([]);
  });

  it('keeps the webhook URL out of the template, the state file and the function environment', async () => {
    // Prepare: what a reader with ReadOnlyAccess sees of the deployment.
    const seen = await Promise.all(
      [withSecret, withParameter].flatMap((packaged) => [
        readFile(join(packaged.dir, TEMPLATE), 'utf8'),
        readFile(join(packaged.dir, 'serverless-state.json'), 'utf8'),
      ]),
    );

    // Act: the two ways a URL could still be handed to the deployment are refused.
    const oldParam = await packageFails(['clusters=prod-a', `webhookUrl=${WEBHOOK_URL}`]);
    const asName = await packageFails(['clusters=prod-a', `webhookUrlSecretName=${WEBHOOK_URL}`]);

    // Assess
    for (const text of seen) {
      expect(text).not.toContain('hooks.slack.com');
      expect(text).toContain('eks-spot-drainer/webhook');
    }
    for (const packaged of [withSecret, withParameter]) {
      const env = packaged.template.Resources.InterruptionLambdaFunction?.Properties.Environment.Variables;
      expect(Object.values(env).filter((value) => String(value).includes('://'))).toEqual([]);
    }
    expect(oldParam).toContain('param "webhookUrl" is no longer read');
    expect(asName).toContain('param "webhookUrlSecretName" holds a URL');
    expect(oldParam).not.toContain('webhookTokenMustNotLeak');
    expect(asName).not.toContain('webhookTokenMustNotLeak');
  });

  it('lets the role put outcome events on the default bus only, by default', () => {
    // Act
    const env = main.template.Resources.InterruptionLambdaFunction?.Properties.Environment.Variables;
    const put = roleStatements(main.template).filter((statement) =>
      asList(statement.Action).some((action: string) => action.startsWith('events:')),
    );

    // Assess
    expect(env).toMatchObject({ OUTCOME_EVENTS: 'true', OUTCOME_EVENT_BUS: 'default' });
    expect(put).toEqual([
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: {
          'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/default`,
        },
      },
    ]);
    expect(iamMatches(put[0].Resource, 'arn:aws:events:us-east-1:123456789012:event-bus/default')).toBe(true);
    expect(iamMatches(put[0].Resource, 'arn:aws:events:us-east-1:123456789012:event-bus/defaults')).toBe(
      false,
    );
  });

  it('lets the role put outcome events on the bus named, of this account or another', () => {
    // Act
    const busOf = (packaged: Packaged) =>
      roleStatements(packaged.template)
        .filter((statement) => asList(statement.Action).includes('events:PutEvents'))
        .map((statement) => statement.Resource);
    const envOf = (packaged: Packaged) =>
      packaged.template.Resources.InterruptionLambdaFunction?.Properties.Environment.Variables;

    // Assess
    expect(envOf(withSecret).OUTCOME_EVENT_BUS).toBe('drains');
    expect(busOf(withSecret)).toEqual([
      { 'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/drains` },
    ]);
    expect(envOf(withParameter).OUTCOME_EVENT_BUS).toBe(CENTRAL_BUS);
    expect(busOf(withParameter)).toEqual([CENTRAL_BUS]);
  });

  it('grants no PutEvents when outcome events are off', () => {
    // Act
    const env = switchedOff.template.Resources.InterruptionLambdaFunction?.Properties.Environment.Variables;
    const actions = roleStatements(switchedOff.template).flatMap((statement) => asList(statement.Action));

    // Assess
    expect(env.OUTCOME_EVENTS).toBe('false');
    expect(actions.filter((action: string) => action.startsWith('events:'))).toEqual([]);
  });

  it('refuses a bus that is neither a name nor an event-bus ARN', async () => {
    // Act
    const partner = await packageFails(['clusters=prod-a', 'outcomeEventBus=aws.partner/example.com/1/x']);

    // Assess
    expect(partner).toContain('param "outcomeEventBus": expected an event bus name or an event-bus ARN');
  });

  it('reserves concurrency for the function when asked', () => {
    // Act
    const fn = switchedOff.template.Resources.InterruptionLambdaFunction?.Properties;

    // Assess
    expect(fn.ReservedConcurrentExecutions).toBe(150);
  });

  it('keeps no instance initialised by default', () => {
    // Assess: no alias; the rules and the invoke config name the function itself.
    expect(resourcesOfType(main.template, 'AWS::Lambda::Alias')).toEqual([]);
    const [[, invokeConfig]] = resourcesOfType(main.template, 'AWS::Lambda::EventInvokeConfig') as [
      [string, Resource],
    ];
    expect(invokeConfig.Properties.Qualifier).toBe('$LATEST');
  });

  it('keeps provisioned instances behind an alias that the rules, retries and dead letters all use', () => {
    // Act
    const aliases = resourcesOfType(switchedOff.template, 'AWS::Lambda::Alias');
    const [[, invokeConfig]] = resourcesOfType(switchedOff.template, 'AWS::Lambda::EventInvokeConfig') as [
      [string, Resource],
    ];

    // Assess: one alias on a published version, with the instances asked for
    expect(aliases).toHaveLength(1);
    const [[, alias]] = aliases as [[string, Resource]];
    expect(alias.Properties).toMatchObject({
      Name: 'provisioned',
      FunctionName: { Ref: 'InterruptionLambdaFunction' },
      ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 5 },
    });
    const [versionId] = alias.Properties.FunctionVersion['Fn::GetAtt'];
    expect(switchedOff.template.Resources[versionId]?.Type).toBe('AWS::Lambda::Version');
    // Assess: every enabled rule invokes the alias; its invocations keep the retries and the queue
    for (const [name, rule] of rulesByName(switchedOff.template)) {
      if (rule.Properties.State !== 'ENABLED') continue;
      expect(rule.Properties.Targets[0].Arn, name).toEqual({
        'Fn::Join': [':', [{ 'Fn::GetAtt': ['InterruptionLambdaFunction', 'Arn'] }, 'provisioned']],
      });
    }
    expect(invokeConfig.Properties).toMatchObject({
      Qualifier: 'provisioned',
      DestinationConfig: { OnFailure: { Destination: DLQ_ARN } },
    });
  });

  it('refuses more provisioned instances than the reservation holds', async () => {
    // Act
    const output = await packageFails([
      'clusters=prod-a',
      'reservedConcurrency=10',
      'provisionedConcurrency=20',
    ]);

    // Assess
    expect(output).toContain(
      'param "provisionedConcurrency" (20) must not exceed "reservedConcurrency" (10)',
    );
  }, 120_000);

  it('reads the source maps at load when asked', () => {
    // Act
    const env = switchedOff.template.Resources.InterruptionLambdaFunction?.Properties.Environment.Variables;

    // Assess
    expect(env.NODE_OPTIONS).toBe('--enable-source-maps');
  });

  it('zips the minified ESM entry, its chunks and their source maps, and no node_modules', async () => {
    // Prepare
    const zipPath = join(main.dir, 'eks-spot-drainer.zip');
    const zipSize = (await stat(zipPath)).size;

    // Act
    const entries = readZip(await readFile(zipPath));

    // Assess
    const names = entries.map((entry) => entry.name).sort();
    const modules = names.filter((name) => name.endsWith('.mjs'));
    expect(modules).toContain('handlers/interruption.mjs');
    expect(modules.filter((name) => !/^handlers\/(interruption|chunks\/[\w-]+)\.mjs$/.test(name))).toEqual(
      [],
    );
    // Chunks of the code split (serverless.yml `splitting`): the deferred ones at least.
    expect(modules.length).toBeGreaterThan(2);
    expect(names).toEqual([...modules, ...modules.map((name) => `${name}.map`)].sort());
    for (const entry of entries.filter((e) => e.name.endsWith('.mjs'))) {
      // Every chunk has the banner: ESM output of CommonJS dependencies calls require().
      expect(
        entry.data().toString('utf8').startsWith("import { createRequire } from 'module';"),
        entry.name,
      ).toBe(true);
    }
    const size = (list: typeof entries) => (list.reduce((sum, e) => sum + e.size, 0) / 1024).toFixed(1);
    console.info(
      `${modules.length} modules, ${size(entries.filter((e) => e.name.endsWith('.mjs')))} KiB ` +
        `(maps ${size(entries.filter((e) => e.name.endsWith('.map')))} KiB); zip ${(zipSize / 1024).toFixed(1)} KiB`,
    );
  });

  it('bundles a handler that loads in Node with the function environment', async () => {
    // Prepare: the bundle, its chunks and their maps, as Lambda unpacks them.
    const dir = await mkdtemp(join(tmpdir(), 'sls-bundle-'));
    workDirs.push(dir);
    await unpackZip(await readFile(join(main.dir, 'eks-spot-drainer.zip')), dir);
    const env = main.template.Resources.InterruptionLambdaFunction?.Properties.Environment.Variables;
    const bundleUrl = pathToFileURL(join(dir, 'handlers/interruption.mjs')).href;

    // Act
    const { stdout } = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(bundleUrl)}); console.log(typeof m.handler);`,
      ],
      { env: { ...offlineEnv, ...env, AWS_LAMBDA_FUNCTION_NAME: 'eks-spot-drainer-ci-interruption' } },
    );

    // Assess
    expect(stdout.trim()).toBe('function');
  });
});
