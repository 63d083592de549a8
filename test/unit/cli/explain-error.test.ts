import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { explainError } from '../../../src/cli/explain-error.js';
import { ExitCode } from '../../../src/cli/io.js';
import { UsageError } from '../../../src/errors.js';
import { kubeConfigFromFile } from '../../../src/kube/connection.js';
import { apiError } from '../../support/fake-kube.js';

const dir = mkdtempSync(join(tmpdir(), 'explain-error-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const token = 'k8s-token-0123456789abcdefSECRET';
const key = 'LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2UUlCQURBTkJna3Foa2lHOXcwQkFRRUZBQVND';

/** The error kubeConfigFromFile throws for a kubeconfig with these lines. */
function kubeconfigError(lines: string[]): unknown {
  const path = join(dir, `kubeconfig-${Math.random().toString(16).slice(2)}`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  try {
    kubeConfigFromFile(path);
  } catch (error) {
    return error;
  }
  throw new Error('the kubeconfig parsed');
}

const user = ['users:', '- name: admin', '  user:', `    token: ${token}`, `    client-key-data: ${key}`];

describe('explainError', () => {
  it.each([
    ['a bad indentation just after the secrets', [...user, '     client-certificate-data: abc']],
    ['an unclosed flow sequence below the secrets', [...user, '  extra: [unclosed', 'contexts: []']],
    ['a tab before the secrets', ['apiVersion: v1', '\tclusters: []', ...user]],
    [
      'a kubeconfig written as broken JSON',
      [`{"users": [{"name": "a", "user": {"token": "${token}", "client-key-data": "${key}"}}]`],
    ],
  ])('never prints the content of a kubeconfig that does not parse: %s', (_, lines) => {
    // Prepare
    const error = kubeconfigError(lines);

    // Act
    const { message, exitCode } = explainError(error);

    // Assess
    expect(exitCode).toBe(ExitCode.Usage);
    expect(message).toMatch(/^cannot read kubeconfig \S+: /);
    expect(message).not.toContain(token);
    expect(message).not.toContain(key.slice(0, 16));
    expect(message).not.toMatch(/token|client-key-data/);
  });

  it('keeps the reason and the position, to find the mistake', () => {
    const error = kubeconfigError([...user, '     client-certificate-data: abc']);

    const { message } = explainError(error);

    expect(message).toMatch(
      /: bad indentation of a mapping entry \(6:\d+\) \(the file's content is not shown\)$/,
    );
  });

  it('redacts credential fields in any message that quotes them', () => {
    const error = new UsageError(
      `exec plugin said: {"token": "${token}", password=hunter2 client-key-data: ${key}}`,
    );

    const { message } = explainError(error);

    expect(message).not.toContain(token);
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain(key);
    expect(message).toContain('"token": "[REDACTED]"');
  });

  it('leaves a one-line kubeconfig error as it is', () => {
    const { message } = explainError(
      new UsageError('cannot read kubeconfig /nowhere: ENOENT: no such file or directory'),
    );

    expect(message).toBe('cannot read kubeconfig /nowhere: ENOENT: no such file or directory');
  });

  it('says a refusal by the node fence is the fence, not missing RBAC', () => {
    // Prepare
    const fence = apiError(403, {
      reason: 'Forbidden',
      message:
        "nodes \"ip-10-0-1-5\" is forbidden: ValidatingAdmissionPolicy 'eks-spot-drainer-node-fence' with binding 'eks-spot-drainer-node-fence' denied request: eks-spot-drainer may change only labels under eks-spot-drainer/",
    });
    const rbac = apiError(403, {
      reason: 'Forbidden',
      message: 'nodes is forbidden: User "x" cannot list resource "nodes"',
    });

    // Act
    const fenced = explainError(fence, 'https://k8s.example.com').message;
    const unbound = explainError(rbac, 'https://k8s.example.com').message;

    // Assess
    expect(fenced).toContain('deploy/node-fence.yaml fences what eks-spot-drainer may change on a node');
    expect(fenced).not.toContain('is deploy/rbac.yaml applied?');
    expect(unbound).toContain('is deploy/rbac.yaml applied?');
  });
});
