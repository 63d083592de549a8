import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clusterManifests, forceDeleteManifest } from '../../../src/cli/rbac.js';
import { parseEvent } from '../../../src/events/parse-event.js';
import { sampleKinds } from '../../../src/events/samples.js';
import { adminClients, createSpotNode, uniqueSuffix } from '../../bed/kube.js';
import { binPath, errorLine, runCli, tempDir } from './run-cli.js';

const bed = inject('testbed');
const projectRoot = join(binPath, '../..');

/** The objects of deploy/ manifests as they ship, in order. */
function shippedObjects(files: readonly string[]): k8s.KubernetesObject[] {
  return files.flatMap(
    (file) =>
      k8s.loadAllYaml(readFileSync(join(projectRoot, 'deploy', file), 'utf8')) as k8s.KubernetesObject[],
  );
}

describe('eks-spot-drainer events', () => {
  it('lists every sample kind with its source and detail-type', async () => {
    const run = await runCli(['events', '--list']);

    expect(run.code).toBe(0);
    for (const kind of sampleKinds) expect(run.stdout).toMatch(new RegExp(`^${kind} +aws\\.`, 'm'));
    expect(run.stdout).toMatch(/^spot-interruption +aws\.ec2 +EC2 Spot Instance Interruption Warning$/m);
  });

  it('prints a sample event the parser accepts, naming the given instance', async () => {
    const run = await runCli(['events', 'spot-interruption', '--instance', 'i-0aaaabbbbccccdddd']);

    expect(run.code).toBe(0);
    const parsed = parseEvent(JSON.parse(run.stdout));
    expect(parsed).toMatchObject({ status: 'notices', notices: [{ instanceId: 'i-0aaaabbbbccccdddd' }] });
  });

  it('dates a sample in the account and region given, for the deployed function', async () => {
    const run = await runCli([
      'events',
      'scheduled-change',
      '--account',
      '210987654321',
      '--region',
      'eu-west-1',
    ]);

    expect(run.code).toBe(0);
    const parsed = parseEvent(JSON.parse(run.stdout));
    expect(parsed.status === 'notices' && parsed.notices[0]).toMatchObject({
      account: '210987654321',
      region: 'eu-west-1',
    });
  });

  it('says how to send a sample for real, not with put-events and an aws.* source', async () => {
    const run = await runCli(['events', '--help']);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('eks-spot-drainer invoke --event -');
    expect(run.stdout).toContain('aws lambda invoke --function-name');
    expect(run.stdout).toContain('`aws events put-events` refuses an aws.* source');
    expect(run.stdout).not.toContain('or aws events put-events');
  });

  it('asks for a kind when given none', async () => {
    const run = await runCli(['events']);

    expect(run.code).toBe(2);
    expect(errorLine(run)).toContain('name a sample kind, or pass --list');
  });
});

describe('eks-spot-drainer rbac', () => {
  it('prints the cluster manifests as shipped, then the access entry command as comments', async () => {
    const run = await runCli([
      'rbac',
      '--cluster',
      'prod-a',
      '--role-arn',
      'arn:aws:iam::123456789012:role/drainer',
    ]);

    expect(run.code).toBe(0);
    expect(run.stdout.startsWith(readFileSync(join(projectRoot, 'deploy/rbac.yaml'), 'utf8').trimEnd())).toBe(
      true,
    );
    const objects = k8s.loadAllYaml(run.stdout) as k8s.KubernetesObject[];
    expect(objects).toEqual(shippedObjects(clusterManifests));
    expect(objects.map((o) => o.kind)).toEqual(
      expect.arrayContaining([
        'ClusterRole',
        'ClusterRoleBinding',
        'ValidatingAdmissionPolicy',
        'ValidatingAdmissionPolicyBinding',
        'PriorityLevelConfiguration',
        'FlowSchema',
      ]),
    );
    expect(run.stdout).toContain('# ROLE_ARN=arn:aws:iam::123456789012:role/drainer');
    expect(run.stdout).toContain(
      '# aws eks create-access-entry --cluster-name prod-a --principal-arn "$ROLE_ARN" --kubernetes-groups eks-spot-drainer --type STANDARD',
    );
  });

  it('adds rbac-force-delete.yaml and reads the role from the stack when asked', async () => {
    const run = await runCli(['rbac', '--force-delete', '--stage', 'prod']);

    const objects = k8s.loadAllYaml(run.stdout) as k8s.KubernetesObject[];
    expect(objects).toEqual(shippedObjects([...clusterManifests, forceDeleteManifest]));
    expect(objects.slice(-2).map((o) => o.metadata?.name)).toEqual([
      'eks-spot-drainer-force-delete',
      'eks-spot-drainer-force-delete',
    ]);
    expect(run.stdout).toContain('--stack-name eks-spot-drainer-prod');
    expect(run.stdout).toContain('--cluster-name <cluster-name>');
  });

  it("renders the node fence for NTH's taint keys and NoExecute when asked, and refuses an unknown effect", async () => {
    // Act
    const run = await runCli(['rbac', '--nth-taint-keys', '--taint-effect', 'NoExecute']);
    const bad = await runCli(['rbac', '--taint-effect', 'Evict']);

    // Assess: the fence's two variables rendered; everything else as shipped.
    expect(run.code).toBe(0);
    const objects = k8s.loadAllYaml(run.stdout) as (k8s.KubernetesObject & { spec?: unknown })[];
    const policy = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy') as {
      spec: { variables: k8s.V1Variable[] };
    };
    const variables = Object.fromEntries(policy.spec.variables.map((v) => [v.name, v.expression]));
    expect(variables.nthTaintKeys).toContain("'aws-node-termination-handler/spot-itn'");
    expect(variables.noExecute).toBe('true');
    expect(objects.filter((o) => o.kind !== 'ValidatingAdmissionPolicy')).toEqual(
      shippedObjects(clusterManifests).filter((o) => o.kind !== 'ValidatingAdmissionPolicy'),
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Evict/);
  });
});

describe('eks-spot-drainer --help', () => {
  it.each(['invoke', 'plan', 'events', 'rbac'])('documents %s', async (command) => {
    const run = await runCli([command, '--help']);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Usage: eks-spot-drainer ${command} [options]`);
  });

  it('prints the version of package.json', async () => {
    const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };

    const run = await runCli(['--version']);

    expect(run.stdout.trim()).toBe(pkg.version);
  });
});

/** The bundle as a published package has it: bin, dist and deploy beside package.json, no node_modules. */
describe('the built CLI (scripts/build.mjs)', () => {
  const pkg = tempDir('package');
  beforeAll(async () => {
    mkdirSync(join(pkg, 'bin'));
    mkdirSync(join(pkg, 'deploy'));
    copyFileSync(binPath, join(pkg, 'bin/eks-spot-drainer.js'));
    copyFileSync(join(projectRoot, 'package.json'), join(pkg, 'package.json'));
    for (const file of [...clusterManifests, forceDeleteManifest]) {
      copyFileSync(join(projectRoot, 'deploy', file), join(pkg, 'deploy', file));
    }
    await promisify(execFile)(process.execPath, [
      join(projectRoot, 'scripts/build.mjs'),
      '--outfile',
      join(pkg, 'dist/cli.mjs'),
    ]);
  }, 120_000);
  afterAll(() => rmSync(pkg, { recursive: true, force: true }));

  it('runs from the bundle alone and finds deploy/rbac.yaml beside it', async () => {
    const run = await runCli(['rbac'], { bin: join(pkg, 'bin/eks-spot-drainer.js') });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('kind: ClusterRole');
  });

  it('plans and drains against the control plane', async () => {
    const admin = adminClients(bed.cluster);
    const node = await createSpotNode(admin.core, { extraLabels: { pool: `bundle-${uniqueSuffix()}` } });
    const bin = join(pkg, 'bin/eks-spot-drainer.js');
    const kubeconfig = bed.cluster.kubeconfigPaths.drainer;

    const plan = await runCli(['plan', '--instance', node.instanceId, '--kubeconfig', kubeconfig], { bin });
    const invoke = await runCli(
      ['invoke', '-e', 'spot-interruption', '-i', node.instanceId, '--kubeconfig', kubeconfig],
      {
        bin,
      },
    );

    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain(`node ${node.name}`);
    expect(invoke.stderr).toBe('');
    expect(invoke.code).toBe(0);
    expect(invoke.stdout).toContain('outcome: drained');
  });
});
