import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from './control-plane.js';
import { type IamAuthenticator, startIamAuthenticator } from './iam-authenticator.js';
import { adminClients, type ClusterInfo } from './kube.js';
import { createEksCluster, type MotoServer, startMoto } from './moto.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The EKS cluster name the test bed's control plane answers for, in moto and in tokens. */
export const testClusterName = 'testbed';
export const testRegion = 'us-east-1';
/** Fixed fake credentials: moto accepts anything, and nothing here ever reaches AWS. */
export const testCredentials = { accessKeyId: 'AKIATESTBEDTESTBED00', secretAccessKey: 'testbed-secret-key' };

/** Everything a test, the demo or a benchmark needs to reach the test bed; plain data. */
export interface TestBedInfo {
  cluster: ClusterInfo;
  clusterName: string;
  region: string;
  awsEndpoint: string;
  motoControlEndpoint: string;
  authenticatorUrl: string;
}

export interface TestBed {
  info: TestBedInfo;
  controlPlane: ControlPlane;
  moto: MotoServer;
  authenticator: IamAuthenticator;
  stop(): Promise<void>;
}

/**
 * Starts moto, the IAM-authenticator stand-in and a real control plane wired to it, applies the
 * project's deploy/rbac.yaml, and registers the control plane in moto as EKS cluster `testbed`.
 */
export async function startTestBed(options: Omit<ControlPlaneOptions, 'authenticationWebhookUrl'> = {}) {
  const moto = await startMoto({ region: testRegion });
  let authenticator: IamAuthenticator | undefined;
  let controlPlane: ControlPlane | undefined;
  try {
    authenticator = await startIamAuthenticator({
      clusterName: testClusterName,
      stsEndpoint: moto.endpoint,
      secretAccessKey: testCredentials.secretAccessKey,
    });
    controlPlane = await startControlPlane({ ...options, authenticationWebhookUrl: authenticator.url });
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
    await createEksCluster(moto.endpoint, {
      name: testClusterName,
      region: testRegion,
      controlEndpoint: moto.controlEndpoint,
      apiServer: { endpoint: controlPlane.server, certificateAuthorityData: controlPlane.caData },
    });
    const info: TestBedInfo = {
      cluster,
      clusterName: testClusterName,
      region: testRegion,
      awsEndpoint: moto.endpoint,
      motoControlEndpoint: moto.controlEndpoint,
      authenticatorUrl: authenticator.url,
    };
    const started = { controlPlane, authenticator };
    return {
      info,
      controlPlane,
      moto,
      authenticator,
      async stop() {
        await started.controlPlane.stop();
        await started.authenticator.stop();
        await moto.stop();
      },
    } satisfies TestBed;
  } catch (error) {
    await controlPlane?.stop();
    await authenticator?.stop();
    await moto.stop();
    throw error;
  }
}

/** Creates every object of a YAML manifest as admin (what `kubectl create -f` does). */
export async function applyManifest(cluster: ClusterInfo, path: string): Promise<void> {
  const { kc } = adminClients(cluster);
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const doc of k8s.loadAllYaml(await readFile(path, 'utf8')) as k8s.KubernetesObject[]) {
    if (doc) await client.create(doc);
  }
}
