import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../bed/processes.js';
import { errorLine, runCli, tempDir, writeKubeconfig } from './run-cli.js';

const bed = inject('testbed');
const kubeconfig = bed.cluster.kubeconfigPaths.drainer;

/** Each failure ends with one line on stderr, no stack trace, and a non-zero exit code. */
describe('eks-spot-drainer errors', () => {
  const files = tempDir('errors');
  let closedPort: number;
  let unreachable: string;
  beforeAll(async () => {
    closedPort = await freePort();
    unreachable = writeKubeconfig(files, `https://127.0.0.1:${closedPort}`, bed.cluster.caData);
  });
  afterAll(() => rmSync(files, { recursive: true, force: true }));

  it('names a kubeconfig file that does not exist (exit 2)', async () => {
    const run = await runCli(['plan', '--node', 'x', '--kubeconfig', join(files, 'missing')]);

    expect(run.code).toBe(2);
    expect(errorLine(run)).toContain(`cannot read kubeconfig ${join(files, 'missing')}: ENOENT`);
  });

  it('never prints the content of a kubeconfig that does not parse (exit 2)', async () => {
    const broken = join(files, 'broken-kubeconfig');
    writeFileSync(
      broken,
      [
        'users:',
        '- name: admin',
        '  user:',
        '    token: s3cr3t-t0ken-value',
        '     client-key-data: S0VZS0VZS0VZ',
        '',
      ].join('\n'),
    );

    const run = await runCli(['plan', '--node', 'x', '--kubeconfig', broken]);

    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `eks-spot-drainer: error: cannot read kubeconfig ${broken}: bad indentation of a mapping entry (5:21) (the file's content is not shown)\n`,
    );
    expect(run.stderr + run.stdout).not.toMatch(/s3cr3t|S0VZS0VZ/);
  });

  it('says there is no kubeconfig at all rather than trying localhost:8080 (exit 2)', async () => {
    const run = await runCli(['invoke', '--event', 'spot-interruption']);

    expect(run.code).toBe(2);
    expect(errorLine(run)).toMatch(
      /error: no kubeconfig: \S+\/\.kube\/config does not exist; pass --kubeconfig/,
    );
  });

  it('names an unknown context (exit 2)', async () => {
    const run = await runCli(['plan', '--node', 'x', '--kubeconfig', kubeconfig, '--context', 'prod']);

    expect(run.code).toBe(2);
    expect(errorLine(run)).toBe('eks-spot-drainer: error: kubeconfig has no context "prod"');
  });

  it('says which API server it cannot reach and why, for plan and invoke (exit 1)', async () => {
    const plan = await runCli(['plan', '--node', 'x', '--kubeconfig', unreachable]);
    const invoke = await runCli(['invoke', '--event', 'spot-interruption', '--kubeconfig', unreachable]);

    const expected = `eks-spot-drainer: error: cannot reach the Kubernetes API at https://127.0.0.1:${closedPort}: connect ECONNREFUSED 127.0.0.1:${closedPort}`;
    expect(plan.code).toBe(1);
    expect(errorLine(plan)).toBe(expected);
    expect(invoke.code).toBe(1);
    expect(errorLine(invoke)).toBe(expected);
  });

  it('says the credentials were rejected, naming the context (exit 2)', async () => {
    const stranger = writeKubeconfig(files, bed.cluster.server, bed.cluster.caData, 'stranger');

    const run = await runCli(['plan', '--node', 'x', '--kubeconfig', stranger]);

    expect(run.code).toBe(2);
    expect(errorLine(run)).toMatch(/rejected the credentials \(HTTP 401\).*\(context "nowhere"\)$/);
  });

  it('names an unknown node and an instance without a node (exit 2)', async () => {
    const byName = await runCli(['plan', '--node', 'ip-10-0-0-404.ec2.internal', '--kubeconfig', kubeconfig]);
    const byInstance = await runCli([
      'plan',
      '--instance',
      'i-0000000000000f404',
      '--kubeconfig',
      kubeconfig,
    ]);

    expect(byName.code).toBe(2);
    expect(errorLine(byName)).toBe(
      'eks-spot-drainer: error: no node named "ip-10-0-0-404.ec2.internal" in cluster local',
    );
    expect(byInstance.code).toBe(2);
    expect(errorLine(byInstance)).toContain('no node of instance i-0000000000000f404 in cluster local');
  });

  it('refuses an event file that is not JSON (exit 2)', async () => {
    const file = join(files, 'not-json.json');
    writeFileSync(file, '{"detail-type": "EC2 Spot Instance Interruption Warning",');

    const run = await runCli(['invoke', '--event', file, '--kubeconfig', kubeconfig]);

    expect(run.code).toBe(2);
    expect(errorLine(run)).toMatch(new RegExp(`error: ${file} is not JSON: `));
  });

  it('refuses JSON that is not a valid event, with the parser reason, before contacting a cluster (exit 2)', async () => {
    const file = join(files, 'not-an-event.json');
    writeFileSync(
      file,
      JSON.stringify({ id: 'e-1', source: 'aws.ec2', 'detail-type': 'Something Else', detail: {} }),
    );

    const run = await runCli(['invoke', '--event', file, '--kubeconfig', unreachable]);

    expect(run.code).toBe(2);
    expect(errorLine(run)).toMatch(/^eks-spot-drainer: error: invalid event e-1: .+/);
  });

  it('names the event file that does not exist (exit 2)', async () => {
    const run = await runCli(['invoke', '--event', join(files, 'nope.json'), '--kubeconfig', kubeconfig]);

    expect(run.code).toBe(2);
    expect(errorLine(run)).toContain(`cannot read event file ${join(files, 'nope.json')}: no such file`);
  });

  it('lists the known kinds for an unknown sample kind, in events and invoke (exit 2)', async () => {
    const events = await runCli(['events', 'spot-interuption']);
    const invoke = await runCli(['invoke', '--event', 'spot-interuption', '--kubeconfig', kubeconfig]);

    expect(events.code).toBe(2);
    expect(errorLine(events)).toMatch(
      /unknown event kind "spot-interuption"; known kinds: spot-interruption, /,
    );
    expect(invoke.code).toBe(2);
    expect(errorLine(invoke)).toMatch(
      /"spot-interuption" is neither an event file nor a sample kind \(spot-interruption, /,
    );
  });

  it('reports a usage mistake in one line (exit 2)', async () => {
    const unknownOption = await runCli(['plan', '--nod', 'x']);
    const missingEvent = await runCli(['invoke']);
    const bothTargets = await runCli([
      'plan',
      '--node',
      'x',
      '--instance',
      'i-1',
      '--kubeconfig',
      kubeconfig,
    ]);

    expect(unknownOption.code).toBe(2);
    expect(errorLine(unknownOption)).toBe(
      "eks-spot-drainer: error: unknown option '--nod' (Did you mean --node?)",
    );
    expect(missingEvent.code).toBe(2);
    expect(errorLine(missingEvent)).toContain("required option '-e, --event <file|kind>' not specified");
    expect(bothTargets.code).toBe(2);
    expect(errorLine(bothTargets)).toContain('plan needs one of --node <name> or --instance <id>');
  });
});
