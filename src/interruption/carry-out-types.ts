/**
 * What carrying a node's input out needs (the context: the cluster's APIs, the drain's options, the
 * invocation's deadline, hooks and hand-off) and what it reports of the node (carry-out.ts).
 */
import type { DrainProgress } from '../drain/drain-types.js';
import type { DrainOptions } from '../drain/options.js';
import type { PodsResult } from '../drain/result.js';
import type { KubeApis } from '../kube/connection.js';
import type { DoorContext } from './door.js';
import type { NodeOutcome } from './inputs.js';
import type { HookRecord, RecordState } from './record.js';

/** Completes Auto Scaling lifecycle hooks (src/interruption knows no AWS client). */
export interface HookHandler {
  /**
   * Completes the hooks (CONTINUE); returns those it completed or found ended. `volumesAttached`:
   * the node's VolumeAttachments still there when the wait for them reached its bound.
   */
  complete(hooks: HookRecord[], volumesAttached?: string[]): Promise<HookRecord[]>;
  /** The node's hooks while its drain runs: keep them alive with heartbeats. */
  onHooks?(hooks: HookRecord[]): void;
}

export interface CarryOutContext extends DoorContext {
  apis: KubeApis;
  drain: DrainOptions;
  hooks?: HookHandler;
  /** When the invocation must have returned (epoch ms): no drain runs past it. */
  deadline: number;
  /** The invocation's own end, where `deadline` was stretched for the write of a drain's end. */
  invocationDeadline?: number;
  signal?: AbortSignal;
  onProgress?: (progress: DrainProgress) => void;
  renewIntervalMs: number;
  /** Who writes the Events (the invocation's id). */
  actor: string;
  /**
   * Asks a fresh invocation to look at the node (in Lambda: an asynchronous self-invoke). With it, a
   * drain whose deadline lies beyond this invocation's end is handed on before that end; without it
   * (the CLI), such a drain stops at the invocation's end as it always did.
   */
  continueElsewhere?: (nodeName: string) => Promise<void>;
}

/** What moving a node on did. */
export interface NodeReport {
  nodeName: string;
  /** What happened to the node. */
  node: NodeOutcome;
  why: string;
  /** What a drain run here did to the pods. */
  drain?: PodsResult;
  /** The record's state and holder afterwards (none: released, or never recorded). */
  state?: RecordState;
  holder?: string;
  /** When the drain run here had to end (epoch ms). */
  deadline?: number;
  hooksCompleted: HookRecord[];
  /** Hooks this input tried to complete and could not (Auto Scaling failed): a retry of the input completes them. */
  hooksFailed: HookRecord[];
  /** This node's hooks still recorded (a holder elsewhere completes them, or the reconcile). */
  hooksPending: HookRecord[];
  /** Notices only: the notice's reason was new to the record (not a duplicate delivery). */
  newReason?: boolean;
  /** Notices only: the deadline the drain's holder had before this notice (epoch ms). */
  holderDeadline?: number;
}
