/**
 * A deployed stack read back through the AWS APIs (moto here), in the shapes the template uses, so the
 * deploy test compares each resource with its template definition. No value is taken from the template.
 */
import { CloudFormationClient, DescribeStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, GetDashboardCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeRuleCommand,
  EventBridgeClient,
  ListTargetsByRuleCommand,
} from '@aws-sdk/client-eventbridge';
import {
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import {
  GetFunctionCommand,
  GetFunctionEventInvokeConfigCommand,
  GetPolicyCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { StackValues } from './intrinsics.js';
import type { Template } from './service.js';

export function awsClients(
  endpoint: string,
  region: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
) {
  const config = { endpoint, region, credentials, forcePathStyle: true };
  return {
    cloudFormation: new CloudFormationClient(config),
    cloudWatch: new CloudWatchClient(config),
    events: new EventBridgeClient(config),
    iam: new IAMClient(config),
    lambda: new LambdaClient(config),
    logs: new CloudWatchLogsClient(config),
    s3: new S3Client(config),
    sqs: new SQSClient(config),
    sts: new STSClient(config),
  };
}
export type AwsClients = ReturnType<typeof awsClients>;

const queueName = (url: string) => url.slice(url.lastIndexOf('/') + 1);

/** Ref and Fn::GetAtt values of every resource CloudFormation (moto) created for the stack. */
export async function stackValues(
  aws: AwsClients,
  stackName: string,
  template: Template,
  region: string,
): Promise<StackValues> {
  const { Account: account = '' } = await aws.sts.send(new GetCallerIdentityCommand({}));
  const { StackResources = [] } = await aws.cloudFormation.send(
    new DescribeStackResourcesCommand({ StackName: stackName }),
  );
  const refs: Record<string, string> = {};
  for (const r of StackResources) {
    if (r.LogicalResourceId && r.PhysicalResourceId) refs[r.LogicalResourceId] = r.PhysicalResourceId;
  }
  const attributes: StackValues['attributes'] = {};
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const physical = refs[logicalId];
    if (!physical) continue;
    switch (resource.Type) {
      case 'AWS::Lambda::Function': {
        const fn = await aws.lambda.send(new GetFunctionCommand({ FunctionName: physical }));
        attributes[logicalId] = { Arn: fn.Configuration?.FunctionArn ?? '' };
        break;
      }
      case 'AWS::SQS::Queue': {
        const q = await aws.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: physical, AttributeNames: ['QueueArn'] }),
        );
        attributes[logicalId] = { Arn: q.Attributes?.QueueArn ?? '', QueueName: queueName(physical) };
        break;
      }
      case 'AWS::IAM::Role': {
        const role = await aws.iam.send(new GetRoleCommand({ RoleName: physical }));
        attributes[logicalId] = { Arn: role.Role?.Arn ?? '' };
        break;
      }
      case 'AWS::Events::Rule': {
        const rule = await aws.events.send(new DescribeRuleCommand({ Name: physical }));
        attributes[logicalId] = { Arn: rule.Arn ?? '' };
        break;
      }
      case 'AWS::S3::Bucket':
        attributes[logicalId] = { Arn: `arn:aws:s3:::${physical}` };
        break;
    }
  }
  const created = StackResources.flatMap((r) => (r.LogicalResourceId ? [r.LogicalResourceId] : []));
  return { account, region, stackName, refs, attributes, created };
}

/**
 * What the AWS APIs say about one deployed resource, in the template's property names, or undefined
 * for a type this test does not read back.
 */
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties are untyped JSON.
export async function readBack(aws: AwsClients, type: string, physicalId: string, props: any): Promise<any> {
  switch (type) {
    case 'AWS::Events::Rule': {
      const rule = await aws.events.send(new DescribeRuleCommand({ Name: physicalId }));
      const { Targets = [] } = await aws.events.send(new ListTargetsByRuleCommand({ Rule: physicalId }));
      return {
        Name: rule.Name,
        Description: rule.Description,
        State: rule.State,
        ...(rule.EventPattern ? { EventPattern: JSON.parse(rule.EventPattern) } : {}),
        ...(rule.ScheduleExpression ? { ScheduleExpression: rule.ScheduleExpression } : {}),
        Targets: Targets.map((t) => ({
          Id: t.Id,
          Arn: t.Arn,
          ...(t.Input ? { Input: t.Input } : {}),
          ...(t.RetryPolicy ? { RetryPolicy: t.RetryPolicy } : {}),
          ...(t.DeadLetterConfig ? { DeadLetterConfig: t.DeadLetterConfig } : {}),
        })),
      };
    }
    case 'AWS::Lambda::Function': {
      const { Configuration: c } = await aws.lambda.send(
        new GetFunctionCommand({ FunctionName: physicalId }),
      );
      return {
        FunctionName: c?.FunctionName,
        Description: c?.Description,
        Handler: c?.Handler,
        Runtime: c?.Runtime,
        Architectures: c?.Architectures,
        MemorySize: c?.MemorySize,
        Timeout: c?.Timeout,
        Role: c?.Role,
        Environment: { Variables: c?.Environment?.Variables ?? {} },
      };
    }
    case 'AWS::Lambda::EventInvokeConfig': {
      const config = await aws.lambda.send(
        new GetFunctionEventInvokeConfigCommand({ FunctionName: props.FunctionName }),
      );
      return {
        FunctionName: props.FunctionName,
        Qualifier: props.Qualifier,
        MaximumRetryAttempts: config.MaximumRetryAttempts,
        MaximumEventAgeInSeconds: config.MaximumEventAgeInSeconds,
        DestinationConfig: config.DestinationConfig,
      };
    }
    case 'AWS::Lambda::Permission': {
      const { Policy = '{}' } = await aws.lambda.send(
        new GetPolicyCommand({ FunctionName: props.FunctionName }),
      );
      // biome-ignore lint/suspicious/noExplicitAny: IAM policy documents are untyped JSON.
      const statement = JSON.parse(Policy).Statement.find((s: any) =>
        Object.values(s.Condition?.ArnLike ?? {}).includes(props.SourceArn),
      );
      return statement
        ? {
            FunctionName: props.FunctionName,
            Action: statement.Action,
            Principal: statement.Principal.Service,
            SourceArn: props.SourceArn,
          }
        : undefined;
    }
    case 'AWS::IAM::Role': {
      const { Role: role } = await aws.iam.send(new GetRoleCommand({ RoleName: physicalId }));
      const { PolicyNames = [] } = await aws.iam.send(new ListRolePoliciesCommand({ RoleName: physicalId }));
      // The role's own inline policies; those of AWS::IAM::RolePolicy resources are read with them.
      const own = new Set((props.Policies ?? []).map((p: { PolicyName: string }) => p.PolicyName));
      const policies = await Promise.all(
        PolicyNames.filter((name) => own.has(name)).map(async (PolicyName) => {
          const p = await aws.iam.send(new GetRolePolicyCommand({ RoleName: physicalId, PolicyName }));
          return { PolicyName, PolicyDocument: JSON.parse(decodeURIComponent(p.PolicyDocument ?? '{}')) };
        }),
      );
      return {
        RoleName: role?.RoleName,
        Path: role?.Path,
        AssumeRolePolicyDocument: JSON.parse(decodeURIComponent(role?.AssumeRolePolicyDocument ?? '{}')),
        Policies: policies,
      };
    }
    case 'AWS::IAM::RolePolicy': {
      const p = await aws.iam.send(
        new GetRolePolicyCommand({ RoleName: props.RoleName, PolicyName: props.PolicyName }),
      );
      return {
        RoleName: p.RoleName,
        PolicyName: p.PolicyName,
        PolicyDocument: JSON.parse(decodeURIComponent(p.PolicyDocument ?? '{}')),
      };
    }
    case 'AWS::SQS::Queue': {
      const { Attributes: a = {} } = await aws.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: physicalId, AttributeNames: ['All'] }),
      );
      return {
        QueueName: queueName(physicalId),
        MessageRetentionPeriod: Number(a.MessageRetentionPeriod),
        SqsManagedSseEnabled: a.SqsManagedSseEnabled === 'true',
      };
    }
    case 'AWS::SQS::QueuePolicy': {
      const policies = await Promise.all(
        (props.Queues as string[]).map(async (QueueUrl) => {
          const { Attributes: a = {} } = await aws.sqs.send(
            new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['Policy'] }),
          );
          return a.Policy ? JSON.parse(a.Policy) : undefined;
        }),
      );
      return { Queues: props.Queues, PolicyDocument: policies[0] };
    }
    case 'AWS::CloudWatch::Alarm': {
      const { MetricAlarms = [] } = await aws.cloudWatch.send(
        new DescribeAlarmsCommand({ AlarmNames: [physicalId] }),
      );
      const [alarm] = MetricAlarms;
      return alarm
        ? {
            AlarmName: alarm.AlarmName,
            AlarmDescription: alarm.AlarmDescription,
            Namespace: alarm.Namespace,
            MetricName: alarm.MetricName,
            Dimensions: alarm.Dimensions,
            Statistic: alarm.Statistic,
            Period: alarm.Period,
            EvaluationPeriods: alarm.EvaluationPeriods,
            Threshold: alarm.Threshold,
            ComparisonOperator: alarm.ComparisonOperator,
            TreatMissingData: alarm.TreatMissingData,
            AlarmActions: alarm.AlarmActions,
          }
        : undefined;
    }
    case 'AWS::CloudWatch::Dashboard': {
      const d = await aws.cloudWatch.send(new GetDashboardCommand({ DashboardName: physicalId }));
      return { DashboardName: d.DashboardName, DashboardBody: d.DashboardBody };
    }
    case 'AWS::Logs::LogGroup': {
      const { logGroups = [] } = await aws.logs.send(
        new DescribeLogGroupsCommand({ logGroupNamePrefix: physicalId }),
      );
      const group = logGroups.find((g) => g.logGroupName === physicalId);
      return group ? { LogGroupName: group.logGroupName, RetentionInDays: group.retentionInDays } : undefined;
    }
    default:
      return undefined;
  }
}
