import { uniqueSuffix } from './kube.js';
import { type BedCluster, startBedCluster, type TestBedInfo } from './testbed.js';

/** A control plane of a test's own, registered in the shared moto as one more EKS cluster. */
export type PrivateBed = BedCluster;

/**
 * Starts a control plane that only one test file uses, for faults that would disturb everyone else:
 * restarting kube-apiserver, or an authenticator whose STS (`stsEndpoint`, default: the shared moto)
 * is a fault proxy. deploy/rbac.yaml is applied, and DescribeCluster of `info.clusterName` in the
 * shared moto answers with this API server. Costs one more etcd and kube-apiserver: one per file.
 */
export function startPrivateBed(
  shared: TestBedInfo,
  options: { stsEndpoint?: string; auditLog?: boolean; log?: (line: string) => void } = {},
): Promise<PrivateBed> {
  return startBedCluster(shared, `private-${uniqueSuffix()}`, options);
}
