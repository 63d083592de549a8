'use strict';
/**
 * Everything serverless.yml derives from the managed cluster list (`--param clusters=prod-a,prod-b`):
 * the MANAGED_CLUSTERS value, the eks:DescribeCluster resource ARNs, and one EKS access entry per
 * cluster that maps the function's role to the Kubernetes group bound by deploy/rbac.yaml.
 *
 * Used as `${file(./deploy/serverless/clusters.cjs):<key>}`; works for any number of clusters.
 */

const { readBool, readList } = require('./params.cjs');

// The EKS API's rule for cluster names.
const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
// Bound to a ClusterRole by deploy/rbac.yaml; never system:masters, never an access policy.
const KUBERNETES_GROUP = 'eks-spot-drainer';
// The role osls creates for the functions of the service.
const ROLE_LOGICAL_ID = 'IamRoleLambdaExecution';

/** "prod-a" -> "ProdA": CloudFormation logical ids are alphanumeric. */
function logicalIdPart(name) {
  return name
    .split(/[^0-9A-Za-z]+/)
    .filter(Boolean)
    .map((part) => part[0].toUpperCase() + part.slice(1))
    .join('');
}

function accessEntryResources(names) {
  const resources = {};
  for (const name of names) {
    const logicalId = `EksAccessEntry${logicalIdPart(name)}`;
    if (resources[logicalId]) {
      throw new Error(
        `clusters "${resources[logicalId].Properties.ClusterName}" and "${name}" map to one logical id`,
      );
    }
    resources[logicalId] = {
      Type: 'AWS::EKS::AccessEntry',
      Properties: {
        ClusterName: name,
        PrincipalArn: { 'Fn::GetAtt': [ROLE_LOGICAL_ID, 'Arn'] },
        KubernetesGroups: [KUBERNETES_GROUP],
        Type: 'STANDARD',
      },
    };
  }
  return resources;
}

/** The managed cluster names, validated: at least one, each a legal EKS cluster name. */
async function clusterNames(resolveVariable) {
  const names = await readList(resolveVariable, 'clusters');
  if (names.length === 0) {
    throw new Error('param "clusters" is required, e.g. --param clusters=prod-a,prod-b');
  }
  const invalid = names.filter((name) => !CLUSTER_NAME.test(name));
  if (invalid.length > 0) {
    throw new Error(`param "clusters" holds invalid EKS cluster names: ${invalid.join(', ')}`);
  }
  return names;
}

// Each key is resolved on demand: osls calls the function a `${file(...):key}` address names.
module.exports = {
  /** For the other resolvers of this folder (not a `${file()}` key): the validated cluster names. */
  clusterNames,
  /** MANAGED_CLUSTERS: the names, comma-separated. */
  managedClusters: async ({ resolveVariable }) => (await clusterNames(resolveVariable)).join(','),
  /** eks:DescribeCluster resources: exactly the managed clusters. */
  describeClusterArns: async ({ resolveVariable }) =>
    (await clusterNames(resolveVariable)).map((name) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:eks:\${AWS::Region}:\${AWS::AccountId}:cluster/${name}`,
    })),
  /** A `resources` array item (osls merges the items): one access entry per cluster, or none. */
  accessEntries: async ({ resolveVariable }) => {
    const names = await clusterNames(resolveVariable);
    if (!(await readBool(resolveVariable, 'createAccessEntries'))) return {};
    return { Resources: accessEntryResources(names) };
  },
};
