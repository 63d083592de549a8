/**
 * A simulated world for the node's interruption record: EC2 (stop, start, hibernate, terminate, held
 * in a passing state, forgotten), a kubelet (gone, back, back with a new boot id), an operator, a
 * forger on the node, Auto Scaling, drains' holders (renewing, ending, crashing) and a clock. The
 * system under test is the real transition and the real door's decisions and patches (`doorStep`);
 * only the API server (a JSON merge patch on one node object) and AWS are played here.
 *
 * The sim also keeps its own account of what holds the node (`ModelNotice`), written from the
 * issue's rules and not from the code, which the invariants (invariants.ts) hold the record against.
 */
import type * as k8s from '@kubernetes/client-node';
import { drainDeadline } from '../../../../src/app/deadline.js';
import { doorStep } from '../../../../src/interruption/door.js';
import type { Effect, Input, NoticeInput, Rules, Transition } from '../../../../src/interruption/inputs.js';
import type { NodePatch } from '../../../../src/interruption/marks.js';
import { type HookRecord, hookKey, recordAnnotation, recordOn } from '../../../../src/interruption/record.js';
import { effectsOf } from '../../../../src/interruption/transition.js';
import { type InstanceFacts, nodeFacts, type World } from '../../../../src/interruption/world.js';
import type { InterruptionNotice, NoticeKind } from '../../../../src/types.js';
import { checkPatch, type Violation } from './invariants.js';
import { applyMergePatch } from './merge-patch.js';

export const instanceId = 'i-0123456789abcdef0';
export const group = 'workers';
export const nodeName = 'ip-10-0-0-1.ec2.internal';
export const t0 = Date.parse('2026-06-01T00:00:00Z');
export const lbLabelKey = 'node.kubernetes.io/exclude-from-external-load-balancers';

function lbLabelOf(node: k8s.V1Node): string | undefined {
  return node.metadata?.labels?.[lbLabelKey];
}

export type Ec2State = 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated' | 'gone';

/** A notice as the sim's own account keeps it. */
export interface ModelNotice {
  kind: NoticeKind;
  eventId: string;
  at: number;
  /** EC2's own deadline (Spot, capacity reservation) or the Health change's start. */
  deadline?: number;
  /** When the drain budget of a notice without a hard deadline runs out. */
  budgetEnd: number;
  arn?: string;
  drainAt?: number;
  closed: boolean;
  /** The record's generation when Health closed it: while that record lives, the change stays closed. */
  closedIn?: number;
}

export interface SimHolder {
  alive: boolean;
  lastRenewOk: number;
  deadline: number;
  stopWhenNotReady: boolean;
  /** Its drain outlasts its invocation: at `deadline` (the invocation's end) it hands the drain on. */
  handsOff: boolean;
}

/** An event delivered once, which EventBridge or Lambda may deliver again. */
export interface Delivered {
  notice: InterruptionNotice;
  input: NoticeInput;
  holder: string;
}

/** Every change of the record's state the door wrote, `from -> to` ([*]: no record), over all runs. */
export const observedEdges = new Set<string>();

export class Sim {
  now = t0;
  ec2: { state: Ec2State; launchTime: number; stateReason?: string } = {
    state: 'running',
    launchTime: t0 - 86_400_000,
  };
  /** What a cached DescribeInstances (or the reconcile's batch) says: EC2 a while ago. */
  cache: InstanceFacts;
  node: k8s.V1Node;
  kubelet = { up: true, bootId: 'boot-0', boots: 0, readySince: t0 - 86_400_000, resumable: false };
  readonly holders = new Map<string, SimHolder>();
  /** Hand-offs sent (asynchronous self-invokes) not yet delivered, by the holder that sent them. */
  readonly continuations: string[] = [];
  /** Hooks Auto Scaling holds, and each completion attempt with the record's generation (a release starts a new one). */
  readonly hooks = {
    genuine: new Map<string, number>(),
    /** `remembered`: a record lived to remember it (one without a record cannot, and may be repeated). */
    attempts: [] as { key: string; generation: number; remembered: boolean }[],
    /** Hooks a forger erased from the record before they were completed. */
    lost: new Set<string>(),
    down: false,
  };
  generation = 0;
  /** Other nodes of the cluster that the disruption budget counts (the door counts them under its lock). */
  budgetOthers = 0;
  /** The notice being delivered, while the door decides on it (the invariants see it before it is accepted). */
  incoming: InterruptionNotice | undefined;
  readonly notices: ModelNotice[] = [];
  readonly delivered: Delivered[] = [];
  /** Deliveries that failed (a hook neither completed nor recorded): Lambda retries each twice, then the DLQ keeps it. */
  readonly retries: { delivered: Delivered; due: number; tries: number }[] = [];
  /** Hooks of events in the dead-letter queue: someone looks at them. */
  readonly deadLetters = new Set<string>();
  /** EC2 starts: the machine came back after each. */
  readonly starts: number[] = [];
  /** Who made each mark an operator could also make: a release may only take away what we made. */
  owners = {
    cordon: 'none' as 'none' | 'admin' | 'us' | 'shared',
    lb: 'none' as 'none' | 'admin' | 'us' | 'shared',
  };
  readonly violations: Violation[] = [];
  readonly log: string[] = [];
  invocations = 0;

  constructor(readonly rules: Rules) {
    this.cache = this.ec2Facts();
    this.node = {
      metadata: { name: nodeName, resourceVersion: '1', labels: { pool: 'model' }, annotations: {} },
      spec: {
        providerID: `aws:///us-east-1a/${instanceId}`,
        taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }],
      },
      status: {
        conditions: [
          { type: 'Ready', status: 'True', lastTransitionTime: new Date(this.kubelet.readySince) },
        ],
        nodeInfo: { bootID: this.kubelet.bootId } as k8s.V1NodeSystemInfo,
      },
    };
  }

  /** The budget's limit (the model's specs are counts). */
  budgetLimit(): number {
    const spec = this.rules.disruptionBudget;
    return spec && 'count' in spec ? spec.count : Number.POSITIVE_INFINITY;
  }

  ec2Facts(): InstanceFacts {
    const { state, launchTime, stateReason } = this.ec2;
    return { state, launchTime, ...(stateReason ? { stateReason } : {}), autoScalingGroup: group };
  }

  /** Gives `input` to the door as it would be given in production, writes what it decides, carries out its effects. */
  apply(input: Input, view: InstanceFacts | 'unknown'): Transition[] {
    // One pass of the door as applyInput makes it, then the effects once (effectsOf) as carry-out does.
    let instance = view;
    let fresh = false;
    let budget: World['budget'];
    const done: Transition[] = [];
    for (let i = 0; i < 8; i++) {
      const world: World = {
        node: { ...nodeFacts(this.node), instanceId },
        instance,
        fresh,
        ...(budget ? { budget } : {}),
      };
      const { transition, patch } = doorStep(this.node, input, this.rules, this.now, world);
      if (transition.recheck && !fresh) {
        instance = this.ec2Facts();
        fresh = true;
        continue;
      }
      if (transition.budget && !budget) {
        budget = { inUse: this.budgetOthers, limit: this.budgetLimit(), waiting: [] };
        continue;
      }
      if (!patch) {
        done.push(transition);
        break;
      }
      this.write(patch, `${input.type} ${transition.outcome}`);
      done.push(transition);
      if (!transition.again) break;
    }
    for (const effect of effectsOf(done)) this.carryOut(effect);
    return done;
  }

  /** A patch of the door, held against the invariants before the API server takes it. */
  write(patch: NodePatch, what: string): void {
    this.violations.push(...checkPatch(this, patch).map((v) => ({ ...v, what })));
    const before = this.node;
    this.node = applyMergePatch(this.node, patch);
    const [was, is] = [recordOn(before), recordOn(this.node)];
    const [from, to] = [was?.state ?? '[*]', is?.state ?? '[*]'];
    const takenOver = from === 'draining' && to === 'draining' && was?.holder !== is?.holder;
    if (from !== to || takenOver) observedEdges.add(`${from} -> ${to}`);
    if (before.metadata?.annotations?.[recordAnnotation] && !this.annotation()) this.generation++;
    this.node.metadata!.resourceVersion = String(Number(before.metadata?.resourceVersion) + 1);
    const cordoned = [before.spec?.unschedulable === true, this.node.spec?.unschedulable === true];
    if (!cordoned[0] && cordoned[1]) this.owners.cordon = 'us';
    if (cordoned[0] && !cordoned[1]) this.owners.cordon = 'none';
    const lb = [lbLabelOf(before) !== undefined, lbLabelOf(this.node) !== undefined];
    if (!lb[0] && lb[1]) this.owners.lb = 'us';
    if (lb[0] && !lb[1]) this.owners.lb = 'none';
  }

  carryOut(effect: Effect): void {
    if (effect.type === 'complete-hooks') {
      const done = this.completeHooks(effect.hooks);
      if (done.length > 0) this.apply({ type: 'hooks-completed', hooks: done }, 'unknown');
    }
    if (effect.type === 'drain') {
      // No invocation runs longer than Lambda's 15 minutes: a longer drain is handed on before then.
      const invocationEnd = this.now + 15 * 60_000;
      this.holders.set(effect.holder, {
        alive: true,
        lastRenewOk: this.now,
        deadline: Math.min(effect.deadline, invocationEnd),
        stopWhenNotReady: effect.stopWhenNotReady,
        handsOff: effect.deadline - invocationEnd >= 30_000,
      });
    }
    if (effect.type === 'continue-elsewhere') this.continuations.push(`continuation-${this.invocations}`);
  }

  /** Auto Scaling: every completion is answered (CONTINUE, or `already ended`) and kept; nothing while down. */
  completeHooks(hooks: HookRecord[]): HookRecord[] {
    if (this.hooks.down) return [];
    const remembered = this.annotation() !== undefined;
    for (const hook of hooks)
      this.hooks.attempts.push({ key: hookKey(hook), generation: this.generation, remembered });
    return hooks;
  }

  isReady(): boolean {
    return this.node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  }

  setReady(ready: boolean): void {
    this.node.status!.conditions = [
      { type: 'Ready', status: ready ? 'True' : 'Unknown', lastTransitionTime: new Date(this.now) },
    ];
    this.node.status!.nodeInfo = { bootID: this.kubelet.bootId } as k8s.V1NodeSystemInfo;
    this.node.metadata!.resourceVersion = String(Number(this.node.metadata?.resourceVersion) + 1);
  }

  /** A notice delivered by the function's path: policy, deadlines and the cached EC2 view. */
  deliver(delivered: Delivered): Transition[] {
    // An event the record no longer holds (released since) is taken anew: its budget counts from now.
    const held = recordOn(this.node)?.reasons.some((r) => r.eventId === delivered.notice.eventId);
    if (!held) {
      const known = this.notices.findIndex((n) => n.eventId === delivered.notice.eventId && !n.arn);
      if (known >= 0) this.notices.splice(known, 1);
    }
    // Auto Scaling holds the instance's lifecycle action from the moment it sends the event.
    const hook = delivered.input.hook;
    if (hook && !this.hooks.genuine.has(hookKey(hook))) this.hooks.genuine.set(hookKey(hook), 0);
    if (hook) this.hooks.lost.delete(hookKey(hook));
    // Health's close takes effect as it is read: the release it allows must not count against it.
    if (delivered.input.health?.status === 'closed') this.accept(delivered);
    this.incoming = delivered.notice;
    const transitions = this.apply(
      { type: 'notice', holder: delivered.holder, notice: delivered.input },
      this.cache,
    );
    this.incoming = undefined;
    const last = transitions.at(-1);
    if (last && last.outcome !== 'obsolete' && delivered.input.health?.status !== 'closed')
      this.accept(delivered);
    // The invocation fails when its own hook was neither completed nor left recorded for someone else.
    if (hook && this.hooks.down) {
      const recorded = recordOn(this.node)?.hooks.some((h) => hookKey(h) === hookKey(hook));
      if (!recorded && !this.hooks.attempts.some((a) => a.key === hookKey(hook))) this.failed(delivered, 0);
    }
    return transitions;
  }

  /** Lambda retries a failed invocation after a minute, then two; after that the DLQ keeps its event. */
  failed(delivered: Delivered, tries: number): void {
    if (tries >= 2) this.deadLetters.add(hookKey(delivered.input.hook!));
    else this.retries.push({ delivered, due: this.now + (tries + 1) * 60_000, tries });
  }

  /** Lambda's retries that are due, with the same request id. */
  retryDue(): void {
    for (const retry of this.retries.filter((r) => r.due <= this.now)) {
      this.retries.splice(this.retries.indexOf(retry), 1);
      const before = this.retries.length;
      this.holders.delete(retry.delivered.holder);
      this.deliver(retry.delivered);
      // deliver() queues it again when it failed again: count the try.
      const again = this.retries.slice(before).find((r) => r.delivered === retry.delivered);
      if (again) {
        this.retries.splice(this.retries.indexOf(again), 1);
        this.failed(retry.delivered, retry.tries + 1);
      }
    }
  }

  /** The sim's own account of a notice the record took. */
  accept({ notice, input }: Delivered): void {
    const arn = input.health?.eventArn;
    if (input.health?.status === 'closed') {
      for (const n of this.notices) {
        if (n.arn === arn) Object.assign(n, { closed: true, closedIn: this.generation });
      }
      if (!this.notices.some((n) => n.arn === arn) && this.annotation()) {
        this.notices.push({
          kind: notice.kind,
          eventId: notice.eventId,
          at: this.now,
          budgetEnd: this.now,
          arn,
          closed: true,
          closedIn: this.generation,
        });
      }
      return;
    }
    // A change closed while its record lived stays closed; one closed before a release may come back.
    const closed = this.notices.find((n) => n.arn && n.arn === arn && n.closed);
    if (closed && closed.closedIn === this.generation) return;
    if (closed) this.notices.splice(this.notices.indexOf(closed), 1);
    if (this.notices.some((n) => n.eventId === notice.eventId || (n.arn && n.arn === arn))) {
      for (const n of this.notices) {
        if (n.arn && n.arn === input.health?.eventArn && input.health.start !== undefined) {
          n.deadline = input.health.start;
          n.drainAt = input.health.start - this.rules.scheduledDrainLeadMs;
        }
      }
      return;
    }
    this.notices.push({
      kind: notice.kind,
      eventId: notice.eventId,
      at: Math.min(notice.eventTime.getTime(), this.now),
      ...(notice.deadline ? { deadline: notice.deadline.getTime() } : {}),
      budgetEnd: drainDeadline(notice, this.now, this.rules.noDeadlineBudgetMs, Number.POSITIVE_INFINITY),
      ...(input.health && input.health.start !== undefined
        ? { arn: input.health.eventArn, drainAt: input.health.start - this.rules.scheduledDrainLeadMs }
        : {}),
      closed: false,
    });
  }

  annotation(): string | undefined {
    return this.node.metadata?.annotations?.[recordAnnotation];
  }
}
