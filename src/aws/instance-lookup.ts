import { DescribeInstancesCommand, type EC2Client, type Instance } from '@aws-sdk/client-ec2';
import type { InstanceInfo } from '../types.js';
import { type AwsCallOptions, callAws } from './aws-retry.js';
import { clusterNamesFromTags } from './instance-tags.js';

// EC2's answers for "there is no such instance": nothing to drain, and no retry can change that.
const instanceGoneCodes = new Set(['InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed']);

/**
 * What EC2 knows about an instance (terminated ones included, while EC2 still lists them), or
 * undefined when it no longer knows it. Throttling, 5xx and timeouts are retried until the deadline,
 * then thrown as a TransientError.
 */
export async function describeInstance(
  ec2: EC2Client,
  instanceId: string,
  options: AwsCallOptions,
): Promise<InstanceInfo | undefined> {
  let instance: Instance | undefined;
  try {
    const output = await callAws(
      `DescribeInstances ${instanceId}`,
      (abortSignal) => ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), { abortSignal }),
      options,
    );
    instance = output.Reservations?.flatMap((r) => r.Instances ?? []).find(
      (i) => i.InstanceId === instanceId,
    );
  } catch (error) {
    if (error instanceof Error && instanceGoneCodes.has(error.name)) return undefined;
    throw error;
  }
  // A terminated instance is still known for about an hour, with its tags: its node may still hold
  // pods (the state-change "terminated" event is the second chance to free them).
  if (!instance) return undefined;
  return toInstanceInfo(instanceId, instance);
}

/** Instance ids per DescribeInstances call of describeInstances (EC2 takes up to 1,000 filter values). */
const idsPerCall = 200;

/**
 * What EC2 knows about many instances, one call per 200 ids. A filter, not InstanceIds: an id EC2
 * does not know is simply absent from the answer instead of failing the whole call.
 */
export async function describeInstances(
  ec2: EC2Client,
  instanceIds: readonly string[],
  options: AwsCallOptions,
): Promise<Map<string, InstanceInfo>> {
  const found = new Map<string, InstanceInfo>();
  const ids = [...new Set(instanceIds)];
  for (let start = 0; start < ids.length; start += idsPerCall) {
    const batch = ids.slice(start, start + idsPerCall);
    let nextToken: string | undefined;
    do {
      const output = await callAws(
        `DescribeInstances ${batch.length} instances`,
        (abortSignal) =>
          ec2.send(
            new DescribeInstancesCommand({
              Filters: [{ Name: 'instance-id', Values: batch }],
              ...(nextToken ? { NextToken: nextToken } : {}),
            }),
            { abortSignal },
          ),
        options,
      );
      for (const instance of output.Reservations?.flatMap((r) => r.Instances ?? []) ?? []) {
        if (instance.InstanceId)
          found.set(instance.InstanceId, toInstanceInfo(instance.InstanceId, instance));
      }
      nextToken = output.NextToken || undefined;
    } while (nextToken);
  }
  return found;
}

function toInstanceInfo(instanceId: string, instance: Instance): InstanceInfo {
  const tags: Record<string, string> = {};
  for (const tag of instance.Tags ?? []) {
    if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
  }
  return {
    instanceId,
    // EC2 returns "" rather than nothing for an instance without a private address.
    privateDnsName: instance.PrivateDnsName || undefined,
    availabilityZone: instance.Placement?.AvailabilityZone || undefined,
    clusterNames: clusterNamesFromTags(tags),
    state: instance.State?.Name,
    ...(instance.LaunchTime ? { launchTime: new Date(instance.LaunchTime) } : {}),
    ...(instance.StateReason?.Code ? { stateReason: instance.StateReason.Code } : {}),
    lifecycle: instance.InstanceLifecycle ?? 'on-demand',
    ...capacityReservationOf(instance),
    ...(instance.Placement?.Tenancy ? { tenancy: instance.Placement.Tenancy } : {}),
    tags,
  };
}

function capacityReservationOf(instance: Instance): { capacityReservationId?: string } {
  const id =
    instance.CapacityReservationId ||
    instance.CapacityReservationSpecification?.CapacityReservationTarget?.CapacityReservationId;
  return id ? { capacityReservationId: id } : {};
}

export interface InstanceCacheOptions {
  /** How long an answer is reused; default 30 s. */
  ttlMs?: number;
  now?: () => number;
}

/**
 * Remembers DescribeInstances answers for a short while, so a burst of events about one instance
 * (a Spot warning, its rebalance recommendation, the state changes that follow) makes one call.
 * Concurrent lookups share the call in flight; a failed lookup is not remembered.
 */
export class InstanceCache {
  readonly #ec2: EC2Client;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { expiresAt: number; info: Promise<InstanceInfo | undefined> }>();

  constructor(ec2: EC2Client, options: InstanceCacheOptions = {}) {
    this.#ec2 = ec2;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  /** The instance's info from the cache, or from EC2 when absent or stale. */
  get(instanceId: string, options: AwsCallOptions): Promise<InstanceInfo | undefined> {
    const cached = this.#entries.get(instanceId);
    if (cached && cached.expiresAt > this.#now()) return cached.info;
    this.#evictExpired();
    const info = describeInstance(this.#ec2, instanceId, options);
    const entry = { expiresAt: this.#now() + this.#ttlMs, info };
    this.#entries.set(instanceId, entry);
    info.then(
      // The TTL counts from the answer, not from the question.
      () => {
        entry.expiresAt = this.#now() + this.#ttlMs;
      },
      () => {
        if (this.#entries.get(instanceId) === entry) this.#entries.delete(instanceId);
      },
    );
    return info;
  }

  /**
   * Many instances at once: those the cache holds, and the rest in batched calls, each answer kept.
   * An instance EC2 does not know is absent from the map.
   */
  async getMany(instanceIds: readonly string[], options: AwsCallOptions): Promise<Map<string, InstanceInfo>> {
    const now = this.#now();
    const found = new Map<string, InstanceInfo>();
    const missing: string[] = [];
    for (const id of new Set(instanceIds)) {
      const cached = this.#entries.get(id);
      if (cached && cached.expiresAt > now) {
        const info = await cached.info;
        if (info) found.set(id, info);
      } else {
        missing.push(id);
      }
    }
    if (missing.length === 0) return found;
    const fetched = await describeInstances(this.#ec2, missing, options);
    const expiresAt = this.#now() + this.#ttlMs;
    // Absence is not remembered: a single get asks EC2 again.
    for (const [id, info] of fetched) {
      this.#entries.set(id, { expiresAt, info: Promise.resolve(info) });
      found.set(id, info);
    }
    return found;
  }

  /**
   * Asks EC2 again, whatever the cache holds, and keeps the answer: for a second look when the first
   * answer contradicts an event (EC2's reads are eventually consistent).
   */
  refresh(instanceId: string, options: AwsCallOptions): Promise<InstanceInfo | undefined> {
    this.#entries.delete(instanceId);
    return this.get(instanceId, options);
  }

  /** Forgets everything (tests, or a caller that knows the instances changed). */
  clear(): void {
    this.#entries.clear();
  }

  #evictExpired(): void {
    const now = this.#now();
    for (const [id, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(id);
  }
}
