/** What a removed stack left behind, asked of each service by the names the deployment had. */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeAlarmsCommand, GetDashboardCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeRuleCommand } from '@aws-sdk/client-eventbridge';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { GetFunctionCommand } from '@aws-sdk/client-lambda';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { AwsClients } from './deployed-stack.js';
import type { StackValues } from './intrinsics.js';
import type { Template } from './service.js';

/** Resolves to true when the call succeeds, false when the service says the thing does not exist. */
async function found(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (
      $metadata?.httpStatusCode === 404 ||
      /NotFound|NoSuchEntity|NonExistent|DoesNotExist/.test(name ?? '')
    ) {
      return false;
    }
    throw error;
  }
}

/**
 * Whether a resource of `type` named `id` still exists; undefined for types that live and die with
 * another resource of the stack (a function's permissions, versions and invoke config, a queue's policy).
 */
async function exists(aws: AwsClients, type: string, id: string): Promise<boolean | undefined> {
  switch (type) {
    case 'AWS::S3::Bucket':
      return found(() => aws.s3.send(new HeadBucketCommand({ Bucket: id })));
    case 'AWS::Lambda::Function':
      return found(() => aws.lambda.send(new GetFunctionCommand({ FunctionName: id })));
    case 'AWS::Events::Rule':
      return found(() => aws.events.send(new DescribeRuleCommand({ Name: id })));
    case 'AWS::SQS::Queue':
      return found(() => aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: id })));
    case 'AWS::IAM::Role':
      return found(() => aws.iam.send(new GetRoleCommand({ RoleName: id })));
    case 'AWS::CloudWatch::Dashboard':
      return found(() => aws.cloudWatch.send(new GetDashboardCommand({ DashboardName: id })));
    case 'AWS::CloudWatch::Alarm': {
      const { MetricAlarms = [] } = await aws.cloudWatch.send(
        new DescribeAlarmsCommand({ AlarmNames: [id] }),
      );
      return MetricAlarms.length > 0;
    }
    case 'AWS::Logs::LogGroup': {
      const { logGroups = [] } = await aws.logs.send(
        new DescribeLogGroupsCommand({ logGroupNamePrefix: id }),
      );
      return logGroups.some((g) => g.logGroupName === id);
    }
    default:
      return undefined;
  }
}

/** "<type> <id>" of every resource of the stack that still exists, and the stack if it is not deleted. */
export async function leftovers(aws: AwsClients, stack: StackValues, template: Template): Promise<string[]> {
  const left: string[] = [];
  const { Stacks = [] } = await aws.cloudFormation
    .send(new DescribeStacksCommand({ StackName: stack.stackName }))
    .catch(() => ({ Stacks: [] }));
  for (const s of Stacks)
    if (s.StackStatus !== 'DELETE_COMPLETE') left.push(`stack ${s.StackName} ${s.StackStatus}`);
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const id = stack.refs[logicalId];
    if (id && (await exists(aws, resource.Type, id))) left.push(`${resource.Type} ${id}`);
  }
  return left;
}
