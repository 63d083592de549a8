import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLambdaApp } from '../../src/app/lambda-app.js';
import { sampleEvent } from '../../src/events/samples.js';
import { adminClients, createNamespace, kubeConfigFor, uniqueSuffix, waitFor } from '../bed/kube.js';
import { lambdaContext, lambdaEnv, spotNodeWithInstance } from '../bed/lambda.js';
import { testCredentials } from '../bed/testbed.js';
import { createDeployment } from '../bed/workloads.js';
import { captureOutput } from './capture-output.js';
import { measured, podsStillOn, unexplainedMarks } from './invariants.js';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bed = inject('testbed');
const admin = adminClients(bed.cluster);
const saved = { ...process.env };
const pool = `privilege-${uniqueSuffix()}`;
let namespace: string;

/** What every authenticated user may do in a cluster built by kubeadm or EKS, by default. */
const everyAuthenticatedUser = ['system:basic-user', 'system:discovery', 'system:public-info-viewer'];

beforeAll(async () => {
  Object.assign(process.env, lambdaEnv(bed));
  namespace = await createNamespace(admin.core, 'privilege');
});
afterAll(async () => {
  process.env = saved;
  expect(await unexplainedMarks(admin.core, pool)).toEqual([]);
});

/**
 * The rights the drainer needs, as a list of `verb group/resource` (core: `core`), all cluster-wide:
 * Events about evicted pods go in the pods' namespaces, which may be any. deploy/rbac.yaml must grant
 * exactly these: a verb more fails the test, as does one the code no longer needs.
 */
const expectedClusterRights = [
  'get core/nodes',
  'list core/nodes',
  'patch core/nodes',
  'list core/pods',
  'watch core/pods',
  'create core/pods/eviction',
  'list policy/poddisruptionbudgets',
  'watch policy/poddisruptionbudgets',
  'get apps/daemonsets',
  'create core/events',
  'list storage.k8s.io/volumeattachments',
  'get core/persistentvolumeclaims',
];
// The disruption budget's lock: one Lease, by name, that deploy/rbac.yaml creates in `default`.
const budgetNamespace = 'default';
const expectedNamespacedRights = ['get coordination.k8s.io/leases', 'patch coordination.k8s.io/leases'];

/** Every `verb group/resource` a list of rules grants. */
function rights(rules: k8s.V1PolicyRule[]): string[] {
  return rules.flatMap((r) =>
    (r.apiGroups ?? ['']).flatMap((group) =>
      (r.resources ?? []).flatMap((res) => r.verbs.map((verb) => `${verb} ${group || 'core'}/${res}`)),
    ),
  );
}

/** deploy/rbac.yaml: its ClusterRole's rules and its namespaced Roles' rules, by namespace. */
async function shippedRbac() {
  const manifest = k8s.loadAllYaml(
    await readFile(join(projectRoot, 'deploy/rbac.yaml'), 'utf8'),
  ) as k8s.KubernetesObject[];
  const clusterRoles = manifest.filter((d) => d.kind === 'ClusterRole') as k8s.V1ClusterRole[];
  const roles = manifest.filter((d) => d.kind === 'Role') as k8s.V1Role[];
  return {
    kinds: manifest.map((d) => d.kind),
    cluster: clusterRoles.flatMap((r) => r.rules ?? []),
    namespaced: (namespace: string) =>
      roles.filter((r) => r.metadata?.namespace === namespace).flatMap((r) => r.rules ?? []),
  };
}

/** The documented rights in `namespace`: deploy/rbac.yaml's roles there plus the default roles of every user. */
async function documentedRules(namespace: string): Promise<k8s.V1PolicyRule[]> {
  const shipped = await shippedRbac();
  const rbac = admin.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const defaults = await Promise.all(everyAuthenticatedUser.map((name) => rbac.readClusterRole({ name })));
  return [...shipped.cluster, ...shipped.namespaced(namespace), ...defaults.flatMap((r) => r.rules ?? [])];
}

const matches = (allowed: string[] | undefined, value: string) =>
  (allowed ?? []).some(
    (a) => a === '*' || a === value || (a.endsWith('*') && value.startsWith(a.slice(0, -1))),
  );

/** Every (group, resource, verb) or (URL, verb) a review grants that no documented rule grants. */
function beyond(review: k8s.V1SubjectRulesReviewStatus, documented: k8s.V1PolicyRule[]): string[] {
  const extra: string[] = [];
  for (const rule of review.resourceRules) {
    for (const group of rule.apiGroups ?? [''])
      for (const resource of rule.resources ?? [])
        for (const verb of rule.verbs) {
          const covered = documented.some(
            (d) =>
              d.resources &&
              matches(d.apiGroups, group) &&
              matches(d.resources, resource) &&
              matches(d.verbs, verb) &&
              // A rule limited to some names covers only those; an unlimited grant needs an unlimited rule.
              (!d.resourceNames?.length ||
                (rule.resourceNames ?? []).every((n) => d.resourceNames!.includes(n))) &&
              (d.resourceNames?.length ? (rule.resourceNames?.length ?? 0) > 0 : true),
          );
          if (!covered)
            extra.push(
              `${verb} ${group || 'core'}/${resource}${rule.resourceNames ? ` ${rule.resourceNames}` : ''}`,
            );
        }
  }
  for (const rule of review.nonResourceRules) {
    for (const url of rule.nonResourceURLs ?? [])
      for (const verb of rule.verbs) {
        const covered = documented.some(
          (d) => d.nonResourceURLs && matches(d.nonResourceURLs, url) && matches(d.verbs, verb),
        );
        if (!covered) extra.push(`${verb} ${url}`);
      }
  }
  return extra;
}

/** Identities the function runs as: the static drainer token, and the Lambda's own EKS token. */
async function identities(): Promise<Record<string, k8s.KubeConfig>> {
  const app = createLambdaApp(lambdaEnv(bed));
  const apis = await app.deps.access.connect(bed.clusterName, { deadline: Date.now() + 30_000 });
  return { 'drainer token': kubeConfigFor(bed.cluster, 'drainer'), 'Lambda EKS token': apis.kc };
}

describe('least privilege', () => {
  it("ships exactly the rights the code uses: no watch on nodes, no get on pods or budgets, Events only created, the budget's Lease only by name", async () => {
    // Act
    const shipped = await shippedRbac();

    // Assess
    expect(shipped.kinds).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Lease', 'Role', 'RoleBinding']);
    expect(rights(shipped.namespaced(budgetNamespace))).toEqual(expectedNamespacedRights);
    expect(rights(shipped.cluster).sort()).toEqual([...expectedClusterRights].sort());
  });

  it('grants the drainer nothing beyond deploy/rbac.yaml and what every authenticated user has', async () => {
    // Prepare
    const shipped = await shippedRbac();

    // Act
    const reviews: Record<string, Record<string, k8s.V1SubjectRulesReviewStatus>> = {};
    for (const [who, kc] of Object.entries(await identities())) {
      const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
      reviews[who] = {};
      for (const ns of [namespace, 'kube-system', 'default']) {
        const review = await authz.createSelfSubjectRulesReview({ body: { spec: { namespace: ns } } });
        reviews[who][ns] = review.status!;
      }
    }

    // Assess
    const summary: Record<string, unknown> = {};
    for (const [who, byNamespace] of Object.entries(reviews)) {
      for (const [ns, status] of Object.entries(byNamespace)) {
        expect(status.incomplete, `${who} in ${ns}: ${status.evaluationError}`).toBe(false);
        expect(beyond(status, await documentedRules(ns)), `${who} in ${ns}`).toEqual([]);
        // Not vacuous: each right deploy/rbac.yaml grants is there.
        const granted = rights(status.resourceRules);
        for (const right of rights(shipped.cluster)) expect(granted, `${who} in ${ns}`).toContain(right);
        for (const right of expectedNamespacedRights) {
          if (ns === budgetNamespace) expect(granted, `${who} in ${ns}`).toContain(right);
          else expect(granted, `${who} in ${ns}`).not.toContain(right);
        }
        summary[`${who} @ ${ns}`] = [...new Set(granted)].sort();
      }
    }
    measured('least privilege: granted resource rules', summary);
  });

  it('is refused everything a compromised drainer could abuse', async () => {
    // Prepare
    const attempts: k8s.V1ResourceAttributes[] = [
      { verb: 'delete', resource: 'pods', namespace },
      { verb: 'deletecollection', resource: 'pods', namespace },
      { verb: 'create', resource: 'pods', namespace },
      { verb: 'patch', resource: 'pods', namespace },
      { verb: 'update', resource: 'pods', namespace },
      { verb: 'create', resource: 'pods', subresource: 'exec', namespace },
      { verb: 'get', resource: 'pods', subresource: 'log', namespace },
      { verb: 'delete', resource: 'nodes' },
      { verb: 'update', resource: 'nodes' },
      { verb: 'create', resource: 'nodes' },
      { verb: 'patch', resource: 'nodes', subresource: 'status' },
      { verb: 'get', resource: 'secrets', namespace: 'kube-system' },
      { verb: 'list', resource: 'secrets' },
      { verb: 'get', resource: 'configmaps', namespace: 'kube-system' },
      { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: 'kube-system' },
      { verb: 'patch', group: 'apps', resource: 'deployments', namespace },
      { verb: 'delete', group: 'policy', resource: 'poddisruptionbudgets', namespace },
      { verb: 'update', group: 'policy', resource: 'poddisruptionbudgets', namespace },
      { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
      { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
      { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
      { verb: 'impersonate', resource: 'users' },
      { verb: 'impersonate', resource: 'groups' },
      { verb: 'delete', resource: 'events', namespace: 'default' },
      // Rights the code never used, dropped from deploy/rbac.yaml.
      { verb: 'watch', resource: 'nodes' },
      { verb: 'get', resource: 'pods', namespace },
      { verb: 'get', group: 'policy', resource: 'poddisruptionbudgets', namespace },
      { verb: 'patch', resource: 'events', namespace: 'default' },
      // Events are only created, never read (they may say more than the drainer should know) or changed.
      { verb: 'list', resource: 'events', namespace },
      { verb: 'update', resource: 'events', namespace: 'kube-system' },
      { verb: 'delete', resource: 'events', namespace },
      { verb: 'list', group: 'apps', resource: 'daemonsets', namespace },
      { verb: 'create', group: 'certificates.k8s.io', resource: 'certificatesigningrequests' },
      { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-node-lease' },
      // The budget's Lease only: no other Lease, and none created.
      { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: 'default' },
      {
        verb: 'patch',
        group: 'coordination.k8s.io',
        resource: 'leases',
        namespace: 'default',
        name: 'other',
      },
      {
        verb: 'patch',
        group: 'coordination.k8s.io',
        resource: 'leases',
        namespace: 'kube-system',
        name: 'eks-spot-drainer-budget',
      },
    ];

    // Act
    const allowed: string[] = [];
    for (const [who, kc] of Object.entries(await identities())) {
      const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
      for (const resourceAttributes of attempts) {
        const review = await authz.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes } } });
        if (review.status?.allowed) allowed.push(`${who}: ${JSON.stringify(resourceAttributes)}`);
      }
    }

    // Assess
    measured('least privilege: abusable actions checked', {
      checked: attempts.length * 2,
      allowed: allowed.length,
    });
    expect(allowed).toEqual([]);
  });

  it('writes no token, signature or secret key into the logs of a full drain', async () => {
    // Prepare
    const { instance, node } = await spotNodeWithInstance(bed, admin, pool);
    await createDeployment(admin, namespace, 'logged', 3, { pool, gracePeriodSeconds: 2 });
    await waitFor(
      '3 pods on the node',
      async () => (await podsStillOn(admin.core, node.name, namespace)).length === 3,
    );
    const app = createLambdaApp(lambdaEnv(bed));
    const output = captureOutput();

    // Act
    let report: Awaited<ReturnType<typeof app.handle>>;
    try {
      report = await app.handle(
        sampleEvent('spot-interruption', { instanceId: instance.instanceId }),
        lambdaContext(`logged-${randomUUID()}`),
      );
    } finally {
      output.stop();
    }

    // Assess
    const text = output.text;
    measured('least privilege: log capture', {
      outcome:
        report.notices[0]?.status === 'done' ? report.notices[0].result.outcome : report.notices[0]?.status,
      logLines: output.jsonLines.length,
      bytes: text.length,
    });
    expect(report.notices[0]?.status === 'done' && report.notices[0].result.outcome).toBe('drained');
    expect(output.jsonLines.some((l) => l.message === 'drain finished')).toBe(true);
    expect(text).not.toContain('k8s-aws-v1.');
    expect(text).not.toMatch(/X-Amz-Signature/i);
    expect(text).not.toMatch(/X-Amz-Credential=/i);
    expect(text).not.toContain(testCredentials.secretAccessKey);
    expect(text).not.toContain(testCredentials.accessKeyId);
    expect(text).not.toMatch(/Bearer\s+\S{8}/);
    for (const token of Object.values(bed.cluster.tokens)) expect(text).not.toContain(token);
  });
});
