import { EC2Client } from '@aws-sdk/client-ec2';
import { reconcileAll } from '../app/reconcile-all.js';
import { ec2InstanceStates } from '../aws/instance-states.js';
import { type CliIo, ExitCode, writeLines } from './io.js';
import { renderReconcile } from './render.js';
import { awsSession, localSession, type SessionOptions } from './session.js';

export interface ReconcileCliOptions extends SessionOptions {
  /** Exactly as the function: every managed cluster, through EC2 tags and EKS. */
  aws?: boolean | undefined;
  /** With a kubeconfig: ask EC2 (AWS_REGION, default credentials) what the instances are doing. */
  ec2?: boolean | undefined;
  /** Only marked nodes that also match this label selector. */
  selector?: string | undefined;
}

/**
 * `reconcile`: one pass of the function's periodic reconcile over the nodes this project marked,
 * against a kubeconfig context (or, with --aws, every managed cluster as the function sees them).
 * With --dry-run it only shows, per node, the step it would take and why.
 */
export async function runReconcile(options: ReconcileCliOptions, io: CliIo): Promise<ExitCode> {
  const session = options.aws ? await awsSession(options, io) : await localSession(options, io);
  try {
    if (!options.aws && options.ec2) {
      const region = io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
      session.deps.instanceStates = ec2InstanceStates(new EC2Client(region ? { region } : {}));
    }
    const ec2 = session.deps.instanceStates ? '' : ' (no EC2: steps that need it wait)';
    io.stdout(`reconcile ${session.where}${options.dryRun ? ', dry run: nothing will change' : ''}${ec2}\n`);
    const reports = await reconcileAll(session.deps, session.invocation(), {
      dryRun: options.dryRun === true,
      ...(options.selector ? { selector: options.selector } : {}),
    });
    writeLines(io.stdout, renderReconcile(reports, options.dryRun === true));
    return reports.some((r) => r.error || r.nodes.some((n) => n.error)) ? ExitCode.Failure : ExitCode.Ok;
  } finally {
    session.close();
  }
}
