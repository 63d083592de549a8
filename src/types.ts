/**
 * The shapes that flow one way through the function:
 * raw event -> InterruptionNotice -> DrainTarget -> NoticeResult (the node, its pods) -> logs, metrics, Events.
 */

/** What EC2 (or Health, or Auto Scaling) told us is happening to an instance. */
export const NoticeKind = {
  SpotInterruption: 'spot-interruption',
  RebalanceRecommendation: 'rebalance-recommendation',
  StateChange: 'state-change',
  ScheduledChange: 'scheduled-change',
  AsgTerminate: 'asg-terminate',
  CapacityReservationInterruption: 'capacity-reservation-interruption',
} as const;
export type NoticeKind = (typeof NoticeKind)[keyof typeof NoticeKind];

/** What we do about a notice, strongest last. */
export const Action = {
  None: 'none',
  Cordon: 'cordon',
  Drain: 'drain',
} as const;
export type Action = (typeof Action)[keyof typeof Action];

/** An Auto Scaling lifecycle action: a terminate one is completed once the node is drained, a launch one once it is Ready. */
export interface LifecycleAction {
  autoScalingGroupName: string;
  lifecycleHookName: string;
  lifecycleActionToken: string;
  lifecycleTransition: string;
}

/** One instance that is going away, whatever kind of event said so. */
export interface InterruptionNotice {
  kind: NoticeKind;
  instanceId: string;
  region: string;
  account: string;
  /** The EventBridge event id: the idempotency key of a delivery. */
  eventId: string;
  eventTime: Date;
  /** When the instance is expected to be gone; undefined when the event sets no hard limit. */
  deadline: Date | undefined;
  /** A short human detail, e.g. the Spot instance-action or the EC2 state. */
  detail?: string;
  lifecycleAction?: LifecycleAction;
  /** AWS Health scheduled changes: the event's own identity and status (Health republishes it as it moves on). */
  health?: HealthEventInfo;
}

/** What identifies an AWS Health event across its republications, and where it stands. */
export interface HealthEventInfo {
  /** The same for every publication of one event (unlike the EventBridge id). */
  eventArn: string;
  /** upcoming: announced; open: under way; closed: done or cancelled. */
  status: 'upcoming' | 'open' | 'closed';
  /** When the maintenance window ends, if Health says. */
  end?: Date;
}

/** The outcome of parsing one raw event. Never throws for bad input. */
export type ParseOutcome =
  | { status: 'notices'; notices: InterruptionNotice[] }
  /** A well-formed event we deliberately do not act on (e.g. state "running", a TEST_NOTIFICATION). */
  | { status: 'ignored'; eventId: string | undefined; reason: string }
  /** Malformed or unknown input: logged and dropped; a retry cannot fix it. */
  | { status: 'invalid'; eventId: string | undefined; reason: string }
  /**
   * An instance runs again (EC2 state `running`): if this project marked its node, the node is moved
   * on at once, as the reconcile would move it (src/app/handle-running.ts).
   */
  | { status: 'running'; eventId: string; instanceId: string; account: string; region: string }
  /**
   * A drain handed on by an invocation about to end (src/events/drain-hand-off.ts): look at that
   * node of that cluster now, as the reconcile would, and so take its drain over.
   */
  | {
      status: 'hand-off';
      eventId: string;
      account: string;
      region: string;
      cluster: string;
      node: string;
      from: string;
    }
  /** The stack's schedule: reconcile every managed cluster's marked nodes (src/interruption). */
  | { status: 'reconcile'; eventId: string; account: string; region: string; time: Date }
  /**
   * Auto Scaling holds a new instance behind a launch hook: completed once its node is Ready
   * (src/app/handle-launch.ts). No notice: nothing is going away, and the node needs no record.
   */
  | {
      status: 'launch';
      eventId: string;
      instanceId: string;
      account: string;
      region: string;
      eventTime: Date;
      lifecycleAction: LifecycleAction;
    };

/** What EC2 says about an instance, enough to find its cluster and its node. */
export interface InstanceInfo {
  instanceId: string;
  privateDnsName: string | undefined;
  availabilityZone: string | undefined;
  /** Cluster names read from the instance's tags, in order of confidence. */
  clusterNames: string[];
  state: string | undefined;
  /** When it was last launched (a start moves it). */
  launchTime?: Date;
  /** EC2's reason for the last state change, e.g. Client.UserInitiatedHibernate. */
  stateReason?: string;
  /**
   * How the instance was bought: EC2's `InstanceLifecycle` (`spot`, `scheduled`, `capacity-block`),
   * or `on-demand` when EC2 names none. A Spot warning about an instance that is not `spot` is forged.
   */
  lifecycle: string;
  /**
   * The Capacity Reservation the instance runs in (EC2's `CapacityReservationId`, else the one its
   * `CapacityReservationSpecification` targets); a capacity-reservation warning about an instance in
   * none is forged.
   */
  capacityReservationId?: string;
  /** `Placement.Tenancy`: `default`, `dedicated` or `host` (a Dedicated Host's Health events are about `host` only). */
  tenancy?: string;
  tags: Record<string, string>;
}

/** Where the Kubernetes API of a cluster is and how to trust it. */
export interface ClusterEndpoint {
  name: string;
  endpoint: string;
  /** Base64-encoded PEM bundle, as EKS returns it. */
  certificateAuthorityData: string;
}

/** The node we are going to act on. */
export interface DrainTarget {
  clusterName: string;
  nodeName: string;
  instanceId: string;
  providerId: string;
}
