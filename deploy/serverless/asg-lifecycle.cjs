'use strict';
/**
 * Who may complete (or extend) lifecycle actions, terminate and launch alike: the role, on the Auto Scaling groups
 * named by `--param lifecycleAsgNames` (default: all of this account and region), and of those only
 * the groups that carry the tag of a managed cluster. The lifecycle action token in the event already
 * limits each call to one instance's transition; the tag keeps the role off the groups of clusters
 * this deployment does not manage.
 *
 * Which tag: an EKS managed node group's Auto Scaling group carries `eks:cluster-name=<cluster>`
 * (and `eks:nodegroup-name`), set by EKS; self-managed groups carry `kubernetes.io/cluster/<cluster>`
 * (`owned` or `shared`), which the EKS documentation, its CloudFormation node template and eksctl put
 * on the group for the nodes to join (managed node groups carry it too). IAM ANDs the keys of one
 * condition, so each is its own statement: one for `eks:cluster-name` (its values are ORed), and one
 * per cluster for the presence of `kubernetes.io/cluster/<cluster>`, whose key holds the name.
 * Karpenter launches no Auto Scaling groups, so nothing here concerns it.
 *
 * Used as `${file(./deploy/serverless/asg-lifecycle.cjs):policy}`, an item of `resources`.
 */

const { readList } = require('./params.cjs');
const { clusterNames } = require('./clusters.cjs');

const ROLE_LOGICAL_ID = 'IamRoleLambdaExecution';
const ACTIONS = ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'];

/** The Auto Scaling group ARNs of `lifecycleAsgNames` (names, wildcards allowed; `*` for all). */
async function groupArns(resolveVariable) {
  const names = await readList(resolveVariable, 'lifecycleAsgNames');
  if (names.length === 0) throw new Error('param "lifecycleAsgNames" must name at least one group or *');
  return names.map((name) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:autoscaling:\${AWS::Region}:\${AWS::AccountId}:autoScalingGroup:*:autoScalingGroupName/${name}`,
  }));
}

async function lifecycleStatements(resolveVariable) {
  const clusters = await clusterNames(resolveVariable);
  const Resource = await groupArns(resolveVariable);
  return [
    {
      Sid: 'ManagedNodeGroupsOfManagedClusters',
      Effect: 'Allow',
      Action: ACTIONS,
      Resource,
      Condition: { StringEquals: { 'autoscaling:ResourceTag/eks:cluster-name': clusters } },
    },
    ...clusters.map((cluster, index) => ({
      Sid: `GroupsTaggedForCluster${index + 1}`,
      Effect: 'Allow',
      Action: ACTIONS,
      Resource,
      Condition: { Null: { [`autoscaling:ResourceTag/kubernetes.io/cluster/${cluster}`]: 'false' } },
    })),
  ];
}

module.exports = {
  /** A `resources` array item: the lifecycle-action policy of the role. */
  policy: async ({ resolveVariable }) => ({
    Resources: {
      LifecycleActionPolicy: {
        Type: 'AWS::IAM::RolePolicy',
        Properties: {
          RoleName: { Ref: ROLE_LOGICAL_ID },
          PolicyName: 'complete-lifecycle-actions',
          PolicyDocument: { Version: '2012-10-17', Statement: await lifecycleStatements(resolveVariable) },
        },
      },
    },
  }),
};
