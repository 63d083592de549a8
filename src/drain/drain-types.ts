import type * as k8s from '@kubernetes/client-node';
import type { KubeApis } from '../kube/connection.js';
import type { Action, NoticeKind } from '../types.js';
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
}

export type DrainProgress =
  | { type: 'phase'; phase: 'mark' | 'list' | 'evict-ordinary' | 'evict-critical' | 'done'; detail: string }
  | {
      type: 'pod';
      pod: string;
      status:
        | 'evicting'
        | 'blocked'
        | 'terminating'
        | 'gone'
        | 'still-there'
        | 'failed'
        | 'skipped'
        | 'force-deleted';
      detail?: string;
    };

export interface DrainContext {
  apis: KubeApis;
  options: DrainOptions;
  now?: () => number;
  /** Aborts waits and retries early (the Lambda's own timeout is near). */
  signal?: AbortSignal;
  onProgress?: (progress: DrainProgress) => void;
}
