import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ControlPlane, startControlPlane } from './control-plane.js';
import { type IamAuthenticator, startIamAuthenticator } from './iam-authenticator.js';
import type { ClusterInfo } from './kube.js';
import { uniqueSuffix } from './kube.js';
import { createEksCluster } from './moto.js';
import { applyManifest, type TestBedInfo } from './testbed.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A control plane of a test's own, registered in the shared moto as one more EKS cluster. */
export interface PrivateBed {
  /** Like the shared bed's info, but for this cluster; AWS is still the shared moto. */
  info: TestBedInfo;
  controlPlane: ControlPlane;
  authenticator: IamAuthenticator;
  stop(): Promise<void>;
}

/**
 * Starts a control plane that only one test file uses, for faults that would disturb everyone else:
 * restarting kube-apiserver, or an authenticator whose STS (`stsEndpoint`, default: the shared moto)
 * is a fault proxy. deploy/rbac.yaml is applied, and DescribeCluster of `info.clusterName` in the
 * shared moto answers with this API server. Costs one more etcd and kube-apiserver: one per file.
 */
export async function startPrivateBed(
  shared: TestBedInfo,
  options: { stsEndpoint?: string; auditLog?: boolean; log?: (line: string) => void } = {},
): Promise<PrivateBed> {
  const clusterName = `private-${uniqueSuffix()}`;
  const authenticator = await startIamAuthenticator({
    clusterName,
    stsEndpoint: options.stsEndpoint ?? shared.awsEndpoint,
  });
  let controlPlane: ControlPlane | undefined;
  try {
    controlPlane = await startControlPlane({
      authenticationWebhookUrl: authenticator.url,
      ...(options.auditLog ? { auditLog: true } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    const cluster: ClusterInfo = {
      server: controlPlane.server,
      caData: controlPlane.caData,
      tokens: controlPlane.tokens,
      kubeconfigPaths: {
        admin: controlPlane.kubeconfigPath('admin'),
        drainer: controlPlane.kubeconfigPath('drainer'),
      },
    };
    await applyManifest(cluster, join(projectRoot, 'deploy/rbac.yaml'));
    await createEksCluster(shared.awsEndpoint, {
      name: clusterName,
      region: shared.region,
      controlEndpoint: shared.motoControlEndpoint,
      apiServer: { endpoint: controlPlane.server, certificateAuthorityData: controlPlane.caData },
    });
    const started = controlPlane;
    return {
      info: { ...shared, cluster, clusterName, authenticatorUrl: authenticator.url },
      controlPlane: started,
      authenticator,
      async stop() {
        await started.stop();
        await authenticator.stop();
      },
    };
  } catch (error) {
    await controlPlane?.stop();
    await authenticator.stop();
    throw error;
  }
}
