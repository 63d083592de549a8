/** The command line: commands, options and help. Each action is one call into its command module. */
import { Command, Option } from 'commander';
import { taintEffects } from '../taint-keys.js';
import { runEvents } from './events.js';
import type { CliIo, ExitCode } from './io.js';
import { packageVersion } from './package-root.js';
import { runRbac } from './rbac.js';

const kubeconfigHelp = 'kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)';
const contextHelp = 'kubeconfig context (default: its current context)';

const footer = `
Drain behaviour follows the same environment variables as the function (DRY_RUN, CORDON_ONLY,
DELETE_EMPTYDIR_DATA, EVICT_UNMANAGED_PODS, POD_TERMINATION_GRACE_PERIOD, ...; see the README).

Exit codes: 0 done; 1 a failure while acting (cluster unreachable, drain failed);
2 bad input or local configuration (invalid event, no kubeconfig, unknown node, bad option).`;

const eventsHelp = `
Send one for real (the event is dated now: a Spot warning means something for two minutes):
  through the handler's code, here:
    eks-spot-drainer events spot-interruption -i i-0abc123def4567890 | eks-spot-drainer invoke --event - --context prod-a
  to the deployed function, as EventBridge would invoke it (asynchronously):
    eks-spot-drainer events spot-interruption -i i-0abc123def4567890 --account 123456789012 --region eu-west-1 > event.json
    aws lambda invoke --function-name eks-spot-drainer-prod-interruption --invocation-type Event \\
      --cli-binary-format raw-in-base64-out --payload file://event.json /dev/null
  through EventBridge: \`aws events put-events\` refuses an aws.* source, so put the sample in the
  detail of an event of your own on a custom bus whose rule passes "$.detail" to the function
  (docs/cli.md, "Sending a sample event").`;

/** Builds the program; `setExit` receives the exit code of the command that ran. */
export function buildProgram(io: CliIo, setExit: (code: ExitCode) => void): Command {
  const program = new Command('eks-spot-drainer')
    .description(
      'Cordon and drain EKS nodes before EC2 interruptions. The function runs in AWS Lambda; this CLI ' +
        'runs the same code locally, plans drains, prints sample events and the RBAC it needs.',
    )
    .version(packageVersion(), '-V, --version')
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      // One line, suggestion included: "error: unknown option '--nod' (Did you mean --node?)".
      outputError: (text, write) => write(`eks-spot-drainer: ${text.trim().replace(/\s*\n\s*/g, ' ')}\n`),
    })
    .exitOverride()
    .showSuggestionAfterError()
    .addHelpText('after', footer);

  addInvoke(program, io, setExit);
  addPlan(program, io, setExit);
  addReconcile(program, io, setExit);
  addEvents(program, io, setExit);
  addRbac(program, io, setExit);
  return program;
}

/** `invoke`: the handler on one event, here. */
function addInvoke(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('invoke')
    .description("Run the function's handler on one event, here: find the node, cordon and drain it, report")
    .requiredOption(
      '-e, --event <file|kind>',
      'event JSON file, - for stdin, or a sample kind (events --list)',
    )
    .option('-i, --instance <id>', 'the instance of a sample event')
    .option('--kubeconfig <path>', kubeconfigHelp)
    .option('--context <name>', contextHelp)
    .option('--dry-run', 'report what the drain would do; change nothing (DRY_RUN=true)')
    .option(
      '--aws',
      'find cluster and node as the function does, through EC2 tags and an EKS token ' +
        '(needs AWS credentials, AWS_REGION and MANAGED_CLUSTERS; no kubeconfig)',
    )
    .option('-v, --verbose', "also print the handler's JSON logs")
    .addHelpText(
      'after',
      `
  Examples:
  eks-spot-drainer invoke --event spot-interruption --instance i-0abc123def4567890 --context prod-a
  eks-spot-drainer invoke --event ./event.json --dry-run
  eks-spot-drainer events rebalance-recommendation --instance i-0abc123def4567890 | eks-spot-drainer invoke --event -
  AWS_REGION=eu-west-1 MANAGED_CLUSTERS=prod-a eks-spot-drainer invoke --aws --event ./event.json`,
    )
    .action(async (options) => {
      const { runInvoke } = await import('./invoke.js');
      setExit(await runInvoke(options, io));
    });
}

/** `plan`: what a drain of a node would do now; reads only. */
function addPlan(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('plan')
    .description('Show what a drain of a node would do now: pods to evict, skipped and why, blocking budgets')
    .option('-n, --node <name>', 'the node')
    .option('-i, --instance <id>', 'the EC2 instance of the node (matched by providerID)')
    .option('--kubeconfig <path>', kubeconfigHelp)
    .option('--context <name>', contextHelp)
    .addHelpText('after', '\nReads only: nothing is cordoned, evicted or annotated.')
    .action(async (options) => {
      const { runPlan } = await import('./plan.js');
      setExit(await runPlan(options, io));
    });
}

/** `reconcile`: one pass of the function's periodic reconcile. */
function addReconcile(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('reconcile')
    .description(
      "Run one pass of the function's periodic reconcile: lift cordons whose reason is over, free the pods " +
        'of instances that are gone, drain scheduled changes that are due, take over abandoned drains',
    )
    .option('--kubeconfig <path>', kubeconfigHelp)
    .option('--context <name>', contextHelp)
    .option('--dry-run', 'show, per marked node, what it would do and why; change nothing')
    .option(
      '--ec2',
      "with a kubeconfig: ask EC2 (AWS_REGION, your credentials) what each node's instance is doing",
    )
    .option(
      '-l, --selector <labels>',
      'only marked nodes that also match this label selector, e.g. pool=spot-a',
    )
    .option(
      '--aws',
      'every managed cluster, found as the function does (AWS_REGION, MANAGED_CLUSTERS; no kubeconfig)',
    )
    .option('-v, --verbose', "also print the handler's JSON logs")
    .addHelpText(
      'after',
      `
  Without EC2 (no --ec2 or --aws) the steps that need its word (the instance is gone, or came back)
  wait: only due scheduled drains, rebalance cordons past their TTL, closed Health changes and abandoned
  drains are acted on.

  Examples:
  eks-spot-drainer reconcile --context prod-a --dry-run
  AWS_REGION=eu-west-1 eks-spot-drainer reconcile --context prod-a --ec2`,
    )
    .action(async (options) => {
      const { runReconcile } = await import('./reconcile.js');
      setExit(await runReconcile(options, io));
    });
}

/** `events`: sample EventBridge events. */
function addEvents(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('events')
    .description('Print a sample EventBridge event (for invoke --event -, or the deployed function)')
    .argument('[kind]', 'sample kind, e.g. spot-interruption')
    .option('-l, --list', 'list the sample kinds')
    .option('-i, --instance <id>', 'the instance the event names')
    .option(
      '--account <id>',
      "the event's account (default 123456789012): the function drops other accounts'",
    )
    .option('--region <region>', "the event's region (default us-east-1): the function drops other regions'")
    .addHelpText('after', eventsHelp)
    .action((kind: string | undefined, options) => setExit(runEvents(kind, options, io)));
}

/** `rbac`: the manifests each cluster needs. */
function addRbac(program: Command, io: CliIo, setExit: (code: ExitCode) => void): void {
  program
    .command('rbac')
    .description('Print the manifests each cluster needs (deploy/) and the EKS access entry command')
    .option(
      '--role-arn <arn>',
      "the function's IAM role (default: read from the stack's FunctionRoleArn output)",
    )
    .option('--cluster <name>', 'the EKS cluster of the access entry')
    .option('--stage <stage>', 'the serverless stage, for the stack name', 'dev')
    .option('--force-delete', 'also print deploy/rbac-force-delete.yaml (FORCE_AT_DEADLINE=true)')
    // The fence lets through exactly the taints the function is configured to write.
    .option('--nth-taint-keys', "the node fence for NTH_TAINT_KEYS=true: NTH's taint keys")
    .addOption(
      new Option('--taint-effect <effect>', "the function's TAINT_EFFECT, for the node fence")
        .choices(taintEffects)
        .default('NoSchedule'),
    )
    .addHelpText(
      'after',
      '\nExample:\n  eks-spot-drainer rbac | kubectl --context prod-a apply -f -\n' +
        '  eks-spot-drainer rbac --nth-taint-keys --taint-effect PreferNoSchedule | kubectl apply -f -\n\n' +
        'node-fence.yaml (a ValidatingAdmissionPolicy) needs Kubernetes 1.30 or newer; on older clusters\n' +
        'apply deploy/rbac.yaml alone: the drainer works the same, without the fence (see docs/deploy.md).',
    )
    .action((options) => setExit(runRbac(options, io)));
}
