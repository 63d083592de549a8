import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from './control-plane.js';
import { type IamAuthenticator, startIamAuthenticator } from './iam-authenticator.js';
import { adminClients, type ClusterInfo } from './kube.js';
import { createEksCluster, type MotoServer, startMoto } from './moto.js';
import { waitForNodeFence } from './node-fence.js';

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

/** Where the emulated AWS of a bed is: every EKS cluster of the bed is registered there. */
export type BedAws = Pick<TestBedInfo, 'region' | 'awsEndpoint' | 'motoControlEndpoint'>;

/** One EKS cluster of a bed: a control plane, its authenticator, registered in moto. */
export interface BedCluster {
  info: TestBedInfo;
  controlPlane: ControlPlane;
  authenticator: IamAuthenticator;
  stop(): Promise<void>;
}

/**
 * Starts the IAM-authenticator stand-in and a real control plane wired to it, applies the project's
 * deploy/rbac.yaml, deploy/node-fence.yaml (waiting until the fence is enforced) and
 * deploy/flowcontrol.yaml, and registers the control plane in moto as EKS cluster `clusterName`, so
 * DescribeCluster answers with its endpoint and CA. `stsEndpoint` (default: moto) is where the
 * authenticator replays tokens: a fault proxy in front of moto for STS outages.
 */
export async function startBedCluster(
  aws: BedAws,
  clusterName: string,
  options: Omit<ControlPlaneOptions, 'authenticationWebhookUrl'> & { stsEndpoint?: string } = {},
): Promise<BedCluster> {
  const { stsEndpoint, ...controlPlaneOptions } = options;
  const authenticator = await startIamAuthenticator({
    clusterName,
    stsEndpoint: stsEndpoint ?? aws.awsEndpoint,
    secretAccessKey: testCredentials.secretAccessKey,
  });
  let controlPlane: ControlPlane | undefined;
  try {
    controlPlane = await startControlPlane({
      ...controlPlaneOptions,
      authenticationWebhookUrl: authenticator.url,
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
    // Every drain of every test goes through the fence around the drainer's node patches.
    await applyManifest(cluster, join(projectRoot, 'deploy/node-fence.yaml'));
    await waitForNodeFence(cluster);
    await applyManifest(cluster, join(projectRoot, 'deploy/flowcontrol.yaml'));
    await createEksCluster(aws.awsEndpoint, {
      name: clusterName,
      region: aws.region,
      controlEndpoint: aws.motoControlEndpoint,
      apiServer: { endpoint: controlPlane.server, certificateAuthorityData: controlPlane.caData },
    });
    const started = controlPlane;
    return {
      info: { ...aws, cluster, clusterName, authenticatorUrl: authenticator.url },
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

/** Starts moto and the bed's EKS cluster `testbed` on it (see startBedCluster). */
export async function startTestBed(options: Omit<ControlPlaneOptions, 'authenticationWebhookUrl'> = {}) {
  const moto = await startMoto({ region: testRegion });
  try {
    const aws = { region: testRegion, awsEndpoint: moto.endpoint, motoControlEndpoint: moto.controlEndpoint };
    const bed = await startBedCluster(aws, testClusterName, options);
    return {
      ...bed,
      moto,
      async stop() {
        await bed.stop();
        await moto.stop();
      },
    } satisfies TestBed;
  } catch (error) {
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
