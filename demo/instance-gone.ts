/**
 * The demo's second act: an instance that is gone with a StatefulSet pod still bound to its node.
 * Its kubelet stops, EC2 terminates the instance, and the state-change notice has the node tainted
 * node.kubernetes.io/out-of-service: the pod garbage collector deletes the pod and the StatefulSet's
 * replacement starts on another node, in seconds instead of never.
 */
import { randomBytes } from 'node:crypto';
import type { LambdaApp } from '../src/app/lambda-app.js';
import { renderReport } from '../src/cli/render.js';
import { duration } from '../src/cli/text.js';
import { sampleEvent } from '../src/events/samples.js';
import { instances, stopKubelet } from '../test/bed/instance-life.js';
import { type AdminClients, waitFor, waitForReadyPods } from '../test/bed/kube.js';
import type { TestBedInfo } from '../test/bed/testbed.js';
import { createStatefulSet } from '../test/bed/workloads.js';
import type { Scene } from './scene.js';

export async function instanceGoneAct(
  bed: TestBedInfo,
  admin: AdminClients,
  app: LambdaApp,
  scene: Scene,
  say: (line?: string) => void,
): Promise<void> {
  const [, victim, spare] = scene.nodes as [unknown, Scene['doomed'], Scene['doomed']];
  say();
  say('Act two: an instance that is gone, with a StatefulSet pod still bound to its node');
  // The spare node is cordoned for a moment, so that queue-0 lands on the victim.
  await admin.core.patchNode({
    name: spare.name,
    body: [{ op: 'add', path: '/spec/unschedulable', value: true }],
  });
  await createStatefulSet(admin, scene.namespace, 'queue', 1, { pool: scene.pool, gracePeriodSeconds: 30 });
  const [queue] = await waitForReadyPods(admin.core, scene.namespace, 'app=queue', 1, 60_000);
  await admin.core.patchNode({ name: spare.name, body: [{ op: 'remove', path: '/spec/unschedulable' }] });
  say(`  StatefulSet queue: pod ${queue?.metadata?.name} runs on ${queue?.spec?.nodeName}`);

  await stopKubelet(admin.core, victim.name);
  await instances.terminate(bed.awsEndpoint, victim.instanceId);
  say(`  the kubelet of ${victim.name} stops (node NotReady); EC2 terminates ${victim.instanceId}`);
  say('  without help, queue-0 would stay bound to the dead node, its volume attached, and no replacement');
  say('  would start: a StatefulSet never runs two pods of one name.');

  const event = sampleEvent('state-change-stopping', {
    instanceId: victim.instanceId,
    state: 'shutting-down',
  });
  say();
  say(`EventBridge -> Lambda: "${event['detail-type']}" (shutting-down) for ${victim.instanceId}`);
  const started = Date.now();
  const report = await app.handle(event, {
    awsRequestId: `demo-${randomBytes(4).toString('hex')}`,
    getRemainingTimeInMillis: () => 60_000 - (Date.now() - started),
  });
  const handled = Date.now() - started;
  for (const line of renderReport(report)) say(line);
  say(
    `  the handler returned in ${duration(handled)}: EC2 confirmed the instance is gone, the node is NotReady,`,
  );
  say('  so it tainted the node node.kubernetes.io/out-of-service=eks-spot-drainer:NoExecute');

  await waitFor(
    'queue-0 replaced on a live node',
    async () => {
      const pods = await admin.core.listNamespacedPod({
        namespace: scene.namespace,
        labelSelector: 'app=queue',
      });
      return pods.items.some(
        (p) =>
          p.spec?.nodeName === spare.name &&
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
    },
    90_000,
    250,
  );
  say(
    `  ${duration(Date.now() - started)} after the event: the pod garbage collector deleted queue-0 from the dead node,`,
  );
  say(`  and the StatefulSet started its replacement on ${spare.name}.`);
}
