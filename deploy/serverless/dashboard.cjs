'use strict';
/**
 * The CloudWatch dashboard of the stack (param `dashboard`, default true): what the function did, from
 * the metrics it writes as EMF (src/observability/metrics.ts), next to Lambda's and the dead-letter
 * queue's own metrics. A user looks here rather than in the logs.
 *
 * Powertools writes each metric with the dimension `service` (POWERTOOLS_SERVICE_NAME) and, for
 * NoticesReceived only, `kind` as well; a widget must name exactly those dimensions or it shows nothing.
 * The namespace and service are read from the function's environment, so they cannot drift apart.
 *
 * Used as `${file(./deploy/serverless/dashboard.cjs):dashboard}` in the `resources` array.
 */

const { readBool } = require('./params.cjs');

// The function's CloudFormation logical id (osls: `<Key>LambdaFunction`) and the queue's, in serverless.yml.
const FUNCTION_LOGICAL_ID = 'InterruptionLambdaFunction';
const QUEUE_LOGICAL_ID = 'DeadLetterQueue';
// src/types.ts NoticeKind, in the README's order; test/integration/serverless-template.test.ts compares.
const NOTICE_KINDS = [
  'spot-interruption',
  'rebalance-recommendation',
  'state-change',
  'scheduled-change',
  'asg-terminate',
  'capacity-reservation-interruption',
];
// src/app/verify-notice.ts Rejection; test/integration/serverless-template.test.ts compares.
const REJECTION_REASONS = [
  'wrong-account',
  'wrong-region',
  'stale',
  'from-the-future',
  'too-many-instances',
  'ec2-disagrees',
  'not-in-capacity-reservation',
  'state-left',
  'auto-scaling-disagrees',
  'no-scheduled-event',
];
const PERIOD = 300;
// Filled in by Fn::Sub when the stack is created (the body is one Fn::Sub string).
// biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation placeholder, not a JS template.
const REGION = '${AWS::Region}';
const WIDTH = 8;
const HEIGHT = 6;

/** POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME as the function gets them. */
async function metricsSettings(resolveConfigurationProperty) {
  const providerEnv = (await resolveConfigurationProperty(['provider', 'environment'])) || {};
  const functions = (await resolveConfigurationProperty(['functions'])) || [];
  const items = Array.isArray(functions) ? functions : [functions];
  const environments = items
    .flatMap((item) => Object.values(item || {}))
    .map((fn) => ({ ...providerEnv, ...(fn?.environment || {}) }))
    .filter((env) => env.POWERTOOLS_METRICS_NAMESPACE && env.POWERTOOLS_SERVICE_NAME);
  if (environments.length === 0) {
    throw new Error('dashboard: no function sets POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME');
  }
  const { POWERTOOLS_METRICS_NAMESPACE: namespace, POWERTOOLS_SERVICE_NAME: service } = environments[0];
  return { namespace: String(namespace), service: String(service) };
}

/** A line of one of our EMF metrics: [namespace, name, service dimension (and kind), options]. */
function ours(settings, name, options, kind, reason) {
  const dimensions = [
    'service',
    settings.service,
    ...(kind ? ['kind', kind] : []),
    ...(reason ? ['reason', reason] : []),
  ];
  return [settings.namespace, name, ...dimensions, options];
}

function graph(title, metrics, extra = {}) {
  return {
    type: 'metric',
    width: WIDTH,
    height: HEIGHT,
    properties: {
      title,
      region: REGION,
      view: 'timeSeries',
      stacked: false,
      period: PERIOD,
      metrics,
      ...extra,
    },
  };
}

/** The widgets, in reading order; x and y are laid out by `layout`. */
function widgets(settings) {
  const sum = (label) => ({ stat: 'Sum', label });
  const lambda = (name, label) => [
    'AWS/Lambda',
    name,
    'FunctionName',
    `\${${FUNCTION_LOGICAL_ID}}`,
    sum(label),
  ];
  const ms = { left: { label: 'ms', showUnits: false, min: 0 } };
  return [
    {
      type: 'text',
      width: 24,
      height: 2,
      properties: {
        markdown:
          '## eks-spot-drainer\nNotices are the interruption events the function parsed; each drain ends drained, ' +
          'cordoned (cordon only) or past its deadline. Dead letters are events that failed every retry: ' +
          'their nodes may not have been drained.',
      },
    },
    graph('Notices by kind', [
      ...NOTICE_KINDS.map((kind) => ours(settings, 'NoticesReceived', sum(kind), kind)),
      ours(settings, 'Notices', sum('all kinds')),
    ]),
    graph('Drains by outcome', [
      ours(settings, 'NodesDrained', sum('drained')),
      ours(settings, 'NodesCordoned', sum('cordoned')),
      ours(settings, 'DrainsPastDeadline', sum('past deadline')),
      ours(settings, 'DrainsHandedOff', sum('handed on to a fresh invocation')),
      ours(settings, 'HooksWithVolumesAttached', sum('hooks completed with volumes attached')),
    ]),
    graph('Pods', [
      ours(settings, 'PodsEvicted', sum('evicted')),
      ours(settings, 'PodsBlocked', sum('blocked by a budget')),
      ours(settings, 'PodsFailed', sum('failed')),
    ]),
    graph(
      'Drain duration',
      [
        ours(settings, 'DrainDuration', { stat: 'p50', label: 'p50' }),
        ours(settings, 'DrainDuration', { stat: 'Maximum', label: 'longest' }),
      ],
      { yAxis: ms },
    ),
    graph(
      'Time left before the deadline, at finish',
      [
        ours(settings, 'TimeLeftAtFinish', { stat: 'p50', label: 'p50' }),
        ours(settings, 'TimeLeftAtFinish', { stat: 'Minimum', label: 'closest call' }),
      ],
      { yAxis: ms },
    ),
    graph('Errors and dropped events', [
      ours(settings, 'Errors', sum('errors')),
      ours(settings, 'InvalidEvents', sum('invalid events')),
      ours(settings, 'IgnoredEvents', sum('ignored events')),
    ]),
    graph('Notices rejected, by reason', [
      ...REJECTION_REASONS.map((reason) => ours(settings, 'RejectedNotices', sum(reason), undefined, reason)),
      ours(settings, 'Rejections', sum('events with rejections')),
    ]),
    graph('Reconcile, instances back and fan-out', [
      ours(settings, 'ReconcileNodes', sum('marked nodes seen')),
      ours(settings, 'InstancesRunning', sum('instances started')),
      ours(settings, 'MarkedInstancesRunning', sum('marked instances running again')),
      ours(settings, 'NodesReleased', sum('released (instance stayed or back)')),
      ours(settings, 'NodesOutOfService', sum('out of service (instance gone)')),
      ours(settings, 'ReconcileDrains', sum('drains carried on')),
      ours(settings, 'ReconcileFailures', sum('failures')),
      ours(settings, 'InstancesFannedOut', sum('instances handed on')),
    ]),
    graph('Launch hooks', [
      ours(settings, 'LaunchHooks', sum('launch hooks of managed instances')),
      ours(settings, 'LaunchHooksContinued', sum('completed CONTINUE (node Ready)')),
      ours(settings, 'LaunchHooksNotReady', sum('node not Ready in time')),
      ours(settings, 'LaunchHooksRetried', sum('left for a retry')),
    ]),
    graph('Outcome events', [
      ours(settings, 'OutcomeEventsSent', sum('put on the bus')),
      ours(settings, 'OutcomeEventsFailed', sum('failed')),
    ]),
    graph('Lambda', [
      lambda('Invocations', 'invocations'),
      lambda('Errors', 'errors'),
      lambda('Throttles', 'throttles'),
    ]),
    graph('Dead-letter queue', [
      [
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        'QueueName',
        `\${${QUEUE_LOGICAL_ID}.QueueName}`,
        { stat: 'Maximum', label: 'messages' },
      ],
    ]),
  ];
}

/** Places widgets left to right on CloudWatch's 24-column grid, wrapping to a new row. */
function layout(list) {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return list.map((widget) => {
    if (x + widget.width > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const placed = { ...widget, x, y };
    x += widget.width;
    rowHeight = Math.max(rowHeight, widget.height);
    return placed;
  });
}

async function dashboard(resolveVariable, resolveConfigurationProperty) {
  if (!(await readBool(resolveVariable, 'dashboard'))) return {};
  const settings = await metricsSettings(resolveConfigurationProperty);
  const service = await resolveVariable('self:service');
  const stage = await resolveVariable('sls:stage');
  const body = { widgets: layout(widgets(settings)) };
  return {
    Resources: {
      Dashboard: {
        Type: 'AWS::CloudWatch::Dashboard',
        Properties: {
          DashboardName: `${service}-${stage}`,
          // Fn::Sub fills in the region, the function name and the queue name.
          DashboardBody: { 'Fn::Sub': JSON.stringify(body) },
        },
      },
    },
    Outputs: {
      DashboardName: { Value: { Ref: 'Dashboard' } },
    },
  };
}

// Resolved on demand: osls calls the function a `${file(...):key}` address names.
module.exports = {
  dashboard: ({ resolveVariable, resolveConfigurationProperty }) =>
    dashboard(resolveVariable, resolveConfigurationProperty),
};
