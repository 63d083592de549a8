import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nthTaintKeys, type TaintEffect } from '../taint-keys.js';
import { type CliIo, ExitCode } from './io.js';
import { packageRoot } from './package-root.js';

export interface RbacOptions {
  roleArn?: string | undefined;
  cluster?: string | undefined;
  forceDelete?: boolean | undefined;
  stage?: string | undefined;
  /** The function's NTH_TAINT_KEYS: the fence lets the drainer write NTH's keys too. */
  nthTaintKeys?: boolean | undefined;
  /** The function's TAINT_EFFECT: the fence lets NoExecute through only when it is that. */
  taintEffect?: TaintEffect | undefined;
}

/** The fence's manifest, of the choices it follows (deploy/node-fence.yaml). */
export const nodeFenceManifest = 'node-fence.yaml';

/**
 * deploy/node-fence.yaml for a configuration's taint keys and effect: the variables `nthTaintKeys`
 * (NTH's four keys, from src/taint-keys.ts) and `noExecute`, as shipped for the default. Throws if
 * the manifest no longer has them as shipped, rather than print a fence that does not follow.
 */
export function renderNodeFence(
  shipped: string,
  choice: Pick<RbacOptions, 'nthTaintKeys' | 'taintEffect'>,
): string {
  const set = (text: string, name: string, value: string) => {
    const shippedLine = new RegExp(`(\\n {4}- name: ${name}\\n {6}expression: )"[^"\\n]*"\\n`);
    if (!shippedLine.test(text))
      throw new Error(`deploy/${nodeFenceManifest}: no variable ${name} to render`);
    return text.replace(shippedLine, (_, head: string) => `${head}${JSON.stringify(value)}\n`);
  };
  let fence = shipped;
  if (choice.nthTaintKeys) {
    const keys = Object.values(nthTaintKeys).map((key) => `'${key}'`);
    fence = set(fence, 'nthTaintKeys', `[${keys.join(', ')}]`);
  }
  if (choice.taintEffect === 'NoExecute') fence = set(fence, 'noExecute', 'true');
  return fence;
}

/** The Kubernetes group deploy/rbac.yaml binds and access entries map the function's role to. */
export const kubernetesGroup = 'eks-spot-drainer';

/** The manifests of deploy/ that every managed cluster gets, in the order they are applied. */
export const clusterManifests = [
  // What the group may do: exactly what a drain needs.
  'rbac.yaml',
  // What the group may change on a Node: its cordon, taints, labels and annotations only.
  nodeFenceManifest,
  // The group's own lane at the API server (API Priority and Fairness); grants nothing.
  'flowcontrol.yaml',
] as const;

/** Only for FORCE_AT_DEADLINE=true (`--force-delete`): pods a budget still protects may be deleted. */
export const forceDeleteManifest = 'rbac-force-delete.yaml';

/**
 * `rbac`: the cluster manifests (and rbac-force-delete.yaml with --force-delete) as they ship, then,
 * as YAML comments, the access-entry command that maps the function's role to its group. The output
 * pipes straight into `kubectl apply -f -`.
 */
export function runRbac(options: RbacOptions, io: CliIo): ExitCode {
  const root = packageRoot();
  const files = [...clusterManifests, ...(options.forceDelete ? [forceDeleteManifest] : [])];
  const manifests = files.map((file) => {
    const text = readFileSync(join(root, 'deploy', file), 'utf8');
    return (file === nodeFenceManifest ? renderNodeFence(text, options) : text).trimEnd();
  });
  io.stdout(`${manifests.join('\n---\n')}\n`);
  const stack = `eks-spot-drainer-${options.stage ?? 'dev'}`;
  const roleLines = options.roleArn
    ? [`ROLE_ARN=${shellQuote(options.roleArn)}`]
    : [
        '# The function role is the FunctionRoleArn output of the stack:',
        `ROLE_ARN=$(aws cloudformation describe-stacks --stack-name ${stack} --query "Stacks[0].Outputs[?OutputKey=='FunctionRoleArn'].OutputValue" --output text)`,
      ];
  const cluster = options.cluster ? shellQuote(options.cluster) : '<cluster-name>';
  const comment = [
    '',
    'Apply the manifests above in each managed cluster:  eks-spot-drainer rbac | kubectl apply -f -',
    '`npx serverless deploy` creates the access entry below for every cluster in --param clusters.',
    'Where access entries are managed elsewhere (--param createAccessEntries=false), create it so:',
    '',
    ...roleLines,
    `aws eks create-access-entry --cluster-name ${cluster} --principal-arn "$ROLE_ARN" --kubernetes-groups ${kubernetesGroup} --type STANDARD`,
  ];
  const commented = comment.map((line) => (line === '' ? '#' : line.startsWith('#') ? line : `# ${line}`));
  io.stdout(`${commented.join('\n')}\n`);
  return ExitCode.Ok;
}

/** Quotes a value for a POSIX shell when it holds anything but safe characters. */
function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
