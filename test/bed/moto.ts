import { execFile, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EC2Client, RunInstancesCommand, type Tag, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, EKSClient } from '@aws-sdk/client-eks';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const startTimeoutMs = 60_000;

/** moto's fake credentials: any value works; these keep the SDK away from real ones. */
export const motoCredentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** A running moto server (test/bed/moto_server.py) and its control API. */
export interface MotoServer {
  /** moto's AWS endpoint, for every service: pass it as `endpoint` to SDK clients. */
  endpoint: string;
  /** The test bed's control API (set an EKS cluster's endpoint, reset). */
  controlEndpoint: string;
  region: string;
  stop(): Promise<void>;
}

/** The venv's bin directory, created on first use by scripts/python-venv.sh. */
export async function pythonVenvBin(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('bash', [join(projectRoot, 'scripts/python-venv.sh')], {
      timeout: 600_000,
    });
    const bin = stdout.trim().split('\n').at(-1);
    if (!bin) throw new Error('scripts/python-venv.sh printed no directory');
    return bin;
  } catch (error) {
    throw new Error(`moto: cannot prepare the Python venv (scripts/python-venv.sh): ${String(error)}`, {
      cause: error,
    });
  }
}

/**
 * Starts moto in server mode on free loopback ports. Throws an Error naming moto, with its output,
 * if it cannot start: the test bed never skips. The server dies with this process: it exits when
 * its stdin (a pipe from us) closes.
 */
export async function startMoto(options: { region?: string } = {}): Promise<MotoServer> {
  const region = options.region ?? 'us-east-1';
  const python = join(await pythonVenvBin(), 'python');
  const child = spawn(python, [join(projectRoot, 'test/bed/moto_server.py'), '--region', region], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // The pipe breaks if the server dies first; stop() and the exit handler deal with that.
  child.stdin.on('error', () => {});
  const stderr: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 200) stderr.shift();
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin.end();
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  };

  try {
    const ready = await new Promise<{ port: number; controlPort: number }>((resolveReady, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ready line after ${startTimeoutMs} ms`)),
        startTimeoutMs,
      );
      const lines = createInterface({ input: child.stdout });
      lines.once('line', (line) => {
        clearTimeout(timer);
        try {
          resolveReady(JSON.parse(line));
        } catch {
          reject(new Error(`unexpected first line ${JSON.stringify(line)}`));
        }
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${signal ?? `code ${code}`}`));
      });
    });
    return {
      endpoint: `http://127.0.0.1:${ready.port}`,
      controlEndpoint: `http://127.0.0.1:${ready.controlPort}`,
      region,
      stop,
    };
  } catch (error) {
    await stop();
    throw new Error(
      `moto server (test/bed/moto_server.py) did not start: ${String(error)}\n${stderr.join('')}`,
      {
        cause: error,
      },
    );
  }
}

async function control(controlEndpoint: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`${controlEndpoint}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`moto control ${path}: HTTP ${response.status} ${await response.text()}`);
}

/** Makes moto's DescribeCluster return this endpoint and CA (moto invents random ones). */
export async function setEksClusterEndpoint(
  controlEndpoint: string,
  cluster: { name: string; endpoint: string; certificateAuthorityData: string; region?: string },
): Promise<void> {
  await control(controlEndpoint, '/eks/cluster-endpoint', cluster);
}

/** Forgets every resource moto holds. */
export async function resetMoto(controlEndpoint: string): Promise<void> {
  await control(controlEndpoint, '/reset', {});
}

/** How an instance says which cluster it belongs to (see src/aws/instance-tags.ts). */
export type ClusterTagStyle =
  | 'aws:eks:cluster-name'
  | 'eks:cluster-name'
  | 'kubernetes.io/cluster'
  | 'karpenter.sh/discovery'
  | 'none';

export function clusterTags(style: ClusterTagStyle, clusterName: string): Tag[] {
  switch (style) {
    case 'kubernetes.io/cluster':
      return [{ Key: `kubernetes.io/cluster/${clusterName}`, Value: 'owned' }];
    case 'none':
      return [];
    default:
      return [{ Key: style, Value: clusterName }];
  }
}

export interface InstanceFixture {
  instanceId: string;
  privateDnsName: string;
  availabilityZone: string;
}

/**
 * Launches an instance in moto, tagged for `clusterName` in the given style. A Spot instance by
 * default (`InstanceLifecycle: spot`, as EC2 reports the test bed's Spot nodes), `onDemand` for one
 * that a Spot warning cannot be about.
 */
export async function createInstance(
  endpoint: string,
  options: {
    clusterTagStyle: ClusterTagStyle;
    clusterName: string;
    region?: string;
    az?: string;
    extraTags?: Record<string, string>;
    onDemand?: boolean;
  },
): Promise<InstanceFixture> {
  const region = options.region ?? 'us-east-1';
  const ec2 = new EC2Client({ region, endpoint, credentials: motoCredentials });
  try {
    const tags = [
      ...clusterTags(options.clusterTagStyle, options.clusterName),
      ...Object.entries(options.extraTags ?? {}).map(([Key, Value]) => ({ Key, Value })),
    ];
    const output = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-12c6146b', // one of moto's built-in AMIs
        InstanceType: 'm5.large',
        MinCount: 1,
        MaxCount: 1,
        Placement: { AvailabilityZone: options.az ?? `${region}a` },
        ...(options.onDemand ? {} : { InstanceMarketOptions: { MarketType: 'spot' } }),
        ...(tags.length > 0 ? { TagSpecifications: [{ ResourceType: 'instance', Tags: tags }] } : {}),
      }),
    );
    const instance = output.Instances?.[0];
    if (!instance?.InstanceId || !instance.PrivateDnsName || !instance.Placement?.AvailabilityZone) {
      throw new Error(`moto RunInstances returned an incomplete instance: ${JSON.stringify(instance)}`);
    }
    return {
      instanceId: instance.InstanceId,
      privateDnsName: instance.PrivateDnsName,
      availabilityZone: instance.Placement.AvailabilityZone,
    };
  } finally {
    ec2.destroy();
  }
}

/** Terminates an instance in moto (it stays visible as "terminated", as in EC2). */
export async function terminateInstance(
  endpoint: string,
  instanceId: string,
  region = 'us-east-1',
): Promise<void> {
  const ec2 = new EC2Client({ region, endpoint, credentials: motoCredentials });
  try {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
  } finally {
    ec2.destroy();
  }
}

/**
 * Creates an EKS cluster in moto; with `apiServer` and `controlEndpoint`, DescribeCluster then
 * answers with that endpoint and CA instead of moto's random ones.
 */
export async function createEksCluster(
  endpoint: string,
  options: {
    name: string;
    region?: string;
    controlEndpoint?: string;
    apiServer?: { endpoint: string; certificateAuthorityData: string };
  },
): Promise<void> {
  const region = options.region ?? 'us-east-1';
  const eks = new EKSClient({ region, endpoint, credentials: motoCredentials });
  try {
    await eks.send(
      new CreateClusterCommand({
        name: options.name,
        roleArn: 'arn:aws:iam::123456789012:role/eks-cluster',
        resourcesVpcConfig: {},
      }),
    );
  } finally {
    eks.destroy();
  }
  if (options.apiServer) {
    if (!options.controlEndpoint) throw new Error('createEksCluster: apiServer needs controlEndpoint');
    await setEksClusterEndpoint(options.controlEndpoint, {
      name: options.name,
      region,
      ...options.apiServer,
    });
  }
}
