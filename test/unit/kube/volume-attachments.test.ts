import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { KubeApis } from '../../../src/kube/connection.js';
import { attachmentsOf, volumesStaying, waitForDetached } from '../../../src/kube/volume-attachments.js';

const attachment = (name: string, nodeName: string): k8s.V1VolumeAttachment => ({
  metadata: { name },
  spec: { attacher: 'ebs.csi.aws.com', nodeName, source: { persistentVolumeName: `pv-${name}` } },
});

/** A storage API whose lists answer `answers` in turn (the last one again once they run out). */
function storage(
  ...answers: (k8s.V1VolumeAttachment[] | Error)[]
): Pick<KubeApis, 'storage'> & { lists: number } {
  const fake = {
    lists: 0,
    storage: {
      listVolumeAttachment: async () => {
        const answer = answers[Math.min(fake.lists++, answers.length - 1)]!;
        if (answer instanceof Error) throw answer;
        return { items: answer };
      },
    } as unknown as k8s.StorageV1Api,
  };
  return fake;
}

describe('attachmentsOf', () => {
  it("names the node's VolumeAttachments only", async () => {
    // Prepare
    const apis = storage([attachment('b', 'node-1'), attachment('c', 'node-2'), attachment('a', 'node-1')]);

    // Act
    const names = await attachmentsOf(apis, 'node-1');

    // Assess
    expect(names).toEqual(['a', 'b']);
  });
});

describe('waitForDetached', () => {
  it('returns after one list when none of the node is left', async () => {
    // Prepare
    const apis = storage([attachment('other', 'node-2')]);

    // Act
    const result = await waitForDetached(apis, 'node-1', Date.now() + 10_000, { now: Date.now });

    // Assess
    expect(result).toEqual({ attached: [] });
    expect(apis.lists).toBe(1);
  });

  it('lists again until the last one is gone', async () => {
    // Prepare
    const apis = storage(
      [attachment('a', 'node-1'), attachment('b', 'node-1')],
      [attachment('b', 'node-1')],
      [],
    );

    // Act
    const result = await waitForDetached(apis, 'node-1', Date.now() + 10_000, { now: Date.now, pollMs: 5 });

    // Assess
    expect(result).toEqual({ attached: [] });
    expect(apis.lists).toBe(3);
  });

  it('returns those left at the bound', async () => {
    // Prepare
    const apis = storage([attachment('a', 'node-1')]);
    const started = Date.now();

    // Act
    const result = await waitForDetached(apis, 'node-1', started + 50, { now: Date.now, pollMs: 10 });

    // Assess
    expect(result).toEqual({ attached: ['a'] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('lists once even when the bound has passed', async () => {
    // Prepare
    const apis = storage([attachment('a', 'node-1')]);

    // Act
    const result = await waitForDetached(apis, 'node-1', Date.now() - 1, { now: Date.now });

    // Assess
    expect(result).toEqual({ attached: ['a'] });
    expect(apis.lists).toBe(1);
  });

  it('ends at once, saying why, when the list fails (no right to list them)', async () => {
    // Prepare
    const forbidden = new Error('HTTP-Code: 403 volumeattachments is forbidden');
    const apis = storage(forbidden);

    // Act
    const result = await waitForDetached(apis, 'node-1', Date.now() + 10_000, { now: Date.now });

    // Assess
    expect(result).toEqual({ attached: [], error: forbidden });
    expect(apis.lists).toBe(1);
  });

  it('ends when the invocation is aborted', async () => {
    // Prepare
    const apis = storage([attachment('a', 'node-1')]);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 20);

    // Act
    const result = await waitForDetached(apis, 'node-1', Date.now() + 10_000, {
      now: Date.now,
      signal: abort.signal,
    });

    // Assess
    expect(result).toEqual({ attached: ['a'] });
  });
});

describe('volumesStaying', () => {
  const pod = (name: string, claim: string, change: Partial<k8s.V1Pod> = {}): k8s.V1Pod => ({
    metadata: { name, namespace: 'apps', ...change.metadata },
    spec: {
      containers: [],
      volumes: [
        { name: 'data', persistentVolumeClaim: { claimName: claim } },
        { name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: {} } } },
        { name: 'config', configMap: { name: 'c' } },
      ],
    },
    status: { phase: 'Running', ...change.status },
  });
  const core = (pods: k8s.V1Pod[], bound: Record<string, string>) => ({
    core: {
      listPodForAllNamespaces: async () => ({ items: pods }),
      readNamespacedPersistentVolumeClaim: async ({ name }: { name: string }) => {
        if (!(name in bound)) throw new Error('HTTP-Code: 404');
        return { spec: { volumeName: bound[name] } };
      },
    } as unknown as k8s.CoreV1Api,
  });

  it('names the volumes of the pods still running there, not of those terminating or done', async () => {
    // Prepare
    const apis = core(
      [
        pod('agent-x', 'agent-data'),
        pod('web-1', 'web-data', { metadata: { deletionTimestamp: new Date() } }),
        pod('job-1', 'job-data', { status: { phase: 'Succeeded' } }),
      ],
      {
        'agent-data': 'pv-agent',
        'agent-x-scratch': 'pv-scratch',
        'web-data': 'pv-web',
        'job-data': 'pv-job',
      },
    );

    // Act
    const staying = await volumesStaying(apis, 'node-1');

    // Assess
    expect([...staying].sort()).toEqual(['pv-agent', 'pv-scratch']);
  });

  it('leaves out of the wait the attachments of the volumes staying, and only those', async () => {
    // Prepare
    const apis = storage([attachment('agent', 'node-1'), attachment('web', 'node-1')]);

    // Act
    const names = await attachmentsOf(apis, 'node-1', new Set(['pv-agent']));

    // Assess
    expect(names).toEqual(['web']);
  });

  it('asks which volumes stay only when the node has an attachment, and once for the whole wait', async () => {
    // Prepare
    let asked = 0;
    const staying = async () => {
      asked++;
      return new Set(['pv-agent']);
    };
    const none = storage([]);
    const some = storage(
      [attachment('agent', 'node-1'), attachment('web', 'node-1')],
      [attachment('agent', 'node-1'), attachment('web', 'node-1')],
      [attachment('agent', 'node-1')],
    );

    // Act
    const bare = await waitForDetached(none, 'node-1', Date.now() + 10_000, { now: Date.now, staying });
    const askedForBare = asked;
    const waited = await waitForDetached(some, 'node-1', Date.now() + 10_000, {
      now: Date.now,
      staying,
      pollMs: 1,
    });

    // Assess: the staying volume's attachment is not waited for
    expect([bare, askedForBare]).toEqual([{ attached: [] }, 0]);
    expect(waited).toEqual({ attached: [] });
    expect([asked, some.lists]).toEqual([1, 3]);
  });
});
