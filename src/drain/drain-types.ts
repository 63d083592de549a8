import type { KubeApis } from '../kube/connection.js';
import type { DrainOptions } from './options.js';
import type { PodTier } from './result.js';

export type DrainProgress =
  | {
      type: 'phase';
      phase: 'mark' | 'list' | `evict-${PodTier}` | 'sweep' | 'done';
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
  /** What happened to the node's record while the pods were drained (renewals, deadlines, takeovers). */
  | { type: 'record'; detail: string };

/** What a drain of a node's pods needs: the cluster, how to drain, and where to report. */
export interface DrainContext {
  apis: KubeApis;
  options: DrainOptions;
  now?: () => number;
  /** Aborts waits and retries early: the Lambda's own timeout is near. */
  signal?: AbortSignal;
  /** Stops the drain for good (its record was taken over, its kubelet stopped): nothing is forced. */
  halt?: AbortSignal;
  onProgress?: (progress: DrainProgress) => void;
  /** The notice the drain is for (the strongest of the node's record): named in each evicted pod's Event. */
  notice?: { kind: string; eventId: string };
  /** Who writes the evicted pods' Events (their reportingInstance): the invocation's id. */
  actor?: string;
}
