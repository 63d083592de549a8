/**
 * The state changes of a node's record the transition can make, with what makes each and who carries
 * it: the diagram and table of docs/lifecycle.md are this list (test/unit/readme.test.ts holds them
 * to it), and the model-based test holds the transition to it (every change it makes is listed, and
 * every one listed is made). `[*]`: no record; `ended`: drained, deadline-reached or incomplete.
 */
import type { RecordState } from './record.js';

export type EdgeState = RecordState | '[*]' | 'ended';

export interface Edge {
  from: readonly EdgeState[];
  to: EdgeState;
  when: string;
  by: 'a notice' | 'a notice or a look' | 'the holder';
}

/** What `ended` stands for in the list. */
export const endedStates: readonly RecordState[] = ['drained', 'deadline-reached', 'incomplete'];

const marked = ['scheduled', 'waiting', 'cordoned', 'draining', 'ended', 'failed'] as const;

export const interruptionEdges: readonly Edge[] = [
  {
    from: ['[*]'],
    to: 'scheduled',
    when: 'a Health change starts further ahead than the lead',
    by: 'a notice',
  },
  {
    from: ['[*]', 'scheduled'],
    to: 'cordoned',
    when: 'a rebalance recommendation (cordon by policy)',
    by: 'a notice',
  },
  {
    from: ['[*]'],
    to: 'waiting',
    when: 'a rebalance cordon, or a Health change due, while the disruption budget is in use',
    by: 'a notice',
  },
  {
    from: ['scheduled'],
    to: 'waiting',
    when: 'a recorded Health change due while the disruption budget is in use',
    by: 'a notice or a look',
  },
  {
    from: ['waiting'],
    to: 'cordoned',
    when: 'a place in the budget for a rebalance cordon',
    by: 'a notice or a look',
  },
  {
    from: ['waiting'],
    to: 'draining',
    when: 'a place in the budget (earliest deadline first), a notice with a hard deadline, or a Health change one drain from its start',
    by: 'a notice or a look',
  },
  {
    from: ['[*]'],
    to: 'draining',
    when: 'a Spot, capacity-reservation or state-change notice, an Auto Scaling hook, a Health change due',
    by: 'a notice',
  },
  {
    from: ['scheduled', 'cordoned'],
    to: 'draining',
    when: 'a notice that drains, or a recorded Health change due (start − lead)',
    by: 'a notice or a look',
  },
  {
    from: ['draining'],
    to: 'draining',
    when: 'its holder stopped renewing for 30 s, or handed it off before its invocation ended: taken over',
    by: 'a notice or a look',
  },
  {
    from: ['draining'],
    to: 'ended',
    when: 'the drain ended: all gone, pods left at the deadline, pods failed, or the kubelet stopped',
    by: 'the holder',
  },
  {
    from: ['draining'],
    to: 'failed',
    when: 'the drain threw: given up at once, for anyone to retry',
    by: 'the holder',
  },
  {
    from: ['failed'],
    to: 'draining',
    when: 'retried while a reason still asks for a drain',
    by: 'a notice or a look',
  },
  { from: ['ended'], to: 'draining', when: 'another notice that drains, the kubelet Ready', by: 'a notice' },
  {
    from: ['[*]', ...marked],
    to: 'out-of-service',
    when: 'EC2 confirms stopped (not hibernated), terminated or gone, and the node is NotReady',
    by: 'a notice or a look',
  },
  {
    from: ['out-of-service'],
    to: 'cordoned',
    when: 'the machine is back while a reason still holds it: out-of-service lifted, the rest kept',
    by: 'a notice or a look',
  },
  {
    from: [...marked, 'out-of-service'],
    to: '[*]',
    when: 'nothing holds the node any more and it runs, Ready: released',
    by: 'a notice or a look',
  },
  {
    from: ['cordoned', 'draining', 'ended', 'failed', 'out-of-service'],
    to: 'scheduled',
    when: 'released as above, a Health change not yet due still recorded',
    by: 'a notice or a look',
  },
];

/** The list with `ended` spelt out, as the record's states: `from -> to`. */
export function expandedEdges(edges: readonly Edge[] = interruptionEdges): Set<string> {
  const states = (s: EdgeState) => (s === 'ended' ? endedStates : [s]);
  return new Set(
    edges.flatMap((e) =>
      e.from.flatMap((f) => states(f).flatMap((from) => states(e.to).map((to) => `${from} -> ${to}`))),
    ),
  );
}
