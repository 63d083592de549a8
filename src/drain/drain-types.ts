import type * as k8s from '@kubernetes/client-node';
import type { KubeApis } from '../kube/connection.js';
import type { Action, NoticeKind } from '../types.js';
import type { HookRecord, LeaseTiming, ScheduledChange } from './lease.js';
import type { DrainOptions } from './options.js';

/** One node to cordon or drain, and why. */
export interface DrainRequest {
  nodeName: string;
  kind: NoticeKind;
  eventId: string;
  /** Cordon or Drain (None never reaches here). */
  action: Action;
  /** Epoch ms by which the drain must have returned (the instance's end, or the invocation's). */
  deadline: number;
  /** Who is draining: the Lambda request id or the CLI's run id. */
  holder: string;
  /** One sentence about the notice, written as the first Event on the node. */
  noticeMessage: string;
  /** The node as the lookup just read it, which spares the lease one GET before the cordon. */
  node?: k8s.V1Node;
  /** The notice's own detail (Spot instance-action, EC2 state, Health code), kept on the lease. */
  detail?: string;
  /** An Auto Scaling lifecycle action to complete when the node's drain ends, whoever ends it. */
  hook?: HookRecord;
  /** A Health scheduled change (kept on the lease, so its republications are recognised). */
  scheduled?: ScheduledChange;
  /** Only record the scheduled change now (it is far ahead); `cordon` cordons the node too. */
  recordOnly?: { cordon: boolean };
  /** The instance is going away for good: stop once its kubelet stops, as evictions cannot finish. */
  stopWhenNotReady?: boolean;
}

export type DrainProgress =
  | {
      type: 'phase';
      phase: 'mark' | 'list' | 'evict-ordinary' | 'evict-critical' | 'sweep' | 'done';
      detail: string;
    }
  | {
      type: 'pod';
      pod: string;
      status:
        | 'evicting'
        | 'blocked'
        | 'terminating'
        | 'gone'
        | 'still-there'
        | 'stuck'
        | 'returned'
        | 'failed'
        | 'skipped'
        | 'force-deleted';
      detail?: string;
    }
  | { type: 'lease'; detail: string };

/** Completes lifecycle hooks recorded on the node's lease (src/drain knows no AWS). */
export interface HookHandler {
  /** Completes the hooks (CONTINUE); returns those it completed. The rest stay on the lease. */
  complete(hooks: HookRecord[]): Promise<HookRecord[]>;
  /** The hooks recorded now, at the start and after each renewal: keep them alive while draining. */
  onHooks?(hooks: HookRecord[]): void;
}

export interface DrainContext {
  apis: KubeApis;
  options: DrainOptions;
  now?: () => number;
  /** Aborts waits and retries early (the Lambda's own timeout is near). */
  signal?: AbortSignal;
  onProgress?: (progress: DrainProgress) => void;
  hooks?: HookHandler;
  /** Lease renewal and takeover timing (tests shorten it). */
  timing?: Partial<LeaseTiming> & { renewIntervalMs?: number };
}
