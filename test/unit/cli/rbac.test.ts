import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/cli/package-root.js';
import { nodeFenceManifest, renderNodeFence } from '../../../src/cli/rbac.js';
import { nthTaintKeys } from '../../../src/taint-keys.js';

const shipped = readFileSync(join(packageRoot(), 'deploy', nodeFenceManifest), 'utf8');

/** The policy's variables, by name: their CEL expressions. */
function variables(manifest: string): Record<string, string> {
  const objects = k8s.loadAllYaml(manifest) as { kind: string; spec: { variables?: k8s.V1Variable[] } }[];
  const policy = objects.find((o) => o.kind === 'ValidatingAdmissionPolicy')!;
  return Object.fromEntries((policy.spec.variables ?? []).map((v) => [v.name, v.expression]));
}

/** The lines of `rendered` that differ from the shipped manifest's. */
function changedLines(rendered: string): string[] {
  const before = shipped.split('\n');
  return rendered.split('\n').filter((line, i) => line !== before[i]);
}

describe('renderNodeFence', () => {
  it('renders the fence as shipped for the default taint keys and effects', () => {
    expect(renderNodeFence(shipped, {})).toBe(shipped);
    expect(renderNodeFence(shipped, { nthTaintKeys: false, taintEffect: 'PreferNoSchedule' })).toBe(shipped);
    expect(variables(shipped)).toMatchObject({ nthTaintKeys: '[]', noExecute: 'false' });
  });

  it("lets NTH's four keys through for NTH_TAINT_KEYS=true, and changes nothing else", () => {
    // Act
    const rendered = renderNodeFence(shipped, { nthTaintKeys: true });

    // Assess
    const keys = Object.values(nthTaintKeys);
    expect(keys).toHaveLength(4);
    expect(variables(rendered)).toMatchObject({
      nthTaintKeys: `[${keys.map((k) => `'${k}'`).join(', ')}]`,
      noExecute: 'false',
    });
    expect(changedLines(rendered)).toHaveLength(1);
  });

  it('lets NoExecute through only for TAINT_EFFECT=NoExecute', () => {
    // Act
    const rendered = renderNodeFence(shipped, {
      nthTaintKeys: true,
      taintEffect: 'NoExecute',
    });

    // Assess
    expect(variables(rendered)).toMatchObject({ noExecute: 'true' });
    expect(changedLines(rendered)).toHaveLength(2);
  });

  it('refuses to render a manifest without the variables, rather than print a fence that does not follow', () => {
    const edited = shipped.replace('- name: noExecute', '- name: allowNoExecute');

    expect(() => renderNodeFence(edited, { taintEffect: 'NoExecute' })).toThrow(/no variable noExecute/);
  });
});
