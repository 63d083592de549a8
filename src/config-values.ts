/**
 * How each configuration variable's raw value is read: blank means unset, a bad value is reported
 * with the reason (quoted back short and printable), a good one yields the typed value. The table of
 * variables that uses them is in config.ts.
 */
import { parseBudgetSpec } from './interruption/budget.js';
import { EVENT_BUS_PATTERN } from './notify/outcome-events.js';
import { parseSecretRef } from './notify/secret-ref.js';
import { taintEffects } from './taint-keys.js';
import * as z from './zod.js';

/** What becomes of a launch hook whose node is not Ready in time. */
export const LaunchTimeoutAction = { Abandon: 'abandon', Leave: 'leave' } as const;
export type LaunchTimeoutAction = (typeof LaunchTimeoutAction)[keyof typeof LaunchTimeoutAction];

/** EKS cluster names: 1-100 characters, alphanumeric first, then alphanumerics, - and _. */
export const CLUSTER_NAME_PATTERN = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/;

/** A value quoted back in an error: short and printable (never used for WEBHOOK_URL_SECRET_NAME, which may hold a URL by mistake). */
function quote(value: string): string {
  const head = value.length > 40 ? `${value.slice(0, 40)}...` : value;
  return `"${head.replace(/[^\x20-\x7e]/g, '?')}"`;
}

// Every schema receives the raw value with blank meaning unset, and yields the typed value.
const raw = z.optional(z.string());

/** A schema that reads the raw value with `read`, which reports a bad value through `invalid`. */
function fromRaw<T>(read: (value: string | undefined, ctx: z.core.ParsePayload) => T) {
  return z.pipe(raw, z.transform(read));
}

/** Records why a value is bad (zod/mini's transform context has no addIssue) and yields no value. */
function invalid(ctx: z.core.ParsePayload, message: string): never {
  ctx.issues.push({ code: 'custom', message, input: ctx.value });
  return z.NEVER;
}

export function bool(fallback: boolean) {
  return fromRaw((value, ctx) => {
    if (value === undefined) return fallback;
    const v = value.toLowerCase();
    if (v === 'true' || v === '1' || v === 'yes') return true;
    if (v === 'false' || v === '0' || v === 'no') return false;
    return invalid(ctx, `expected true or false, got ${quote(value)}`);
  });
}

export function int(fallback: number, min: number, max: number) {
  return fromRaw((value, ctx) => {
    if (value === undefined) return fallback;
    const n = /^[+-]?\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      return invalid(ctx, `expected an integer from ${min} to ${max}, got ${quote(value)}`);
    }
    return n;
  });
}

export const clusters = fromRaw((value, ctx) => {
  if (value === undefined) return invalid(ctx, 'is required: a comma-separated list of EKS cluster names');
  const names = value.split(',').map((name) => name.trim());
  const bad = names.find((name) => !CLUSTER_NAME_PATTERN.test(name));
  if (bad !== undefined) {
    return invalid(
      ctx,
      bad === '' ? 'contains an empty cluster name' : `${quote(bad)} is not a valid EKS cluster name`,
    );
  }
  return [...new Set(names)];
});

export const secretRef = fromRaw((value, ctx) => {
  if (value === undefined) return undefined;
  const ref = parseSecretRef(value);
  return 'error' in ref ? invalid(ctx, ref.error) : ref;
});

export const eventBus = fromRaw((value, ctx) => {
  if (value === undefined) return 'default';
  if (!EVENT_BUS_PATTERN.test(value)) {
    return invalid(ctx, `expected an event bus name or an event-bus ARN, got ${quote(value)}`);
  }
  return value;
});

// -1 keeps each pod's own terminationGracePeriodSeconds. 0 is refused: an eviction with a grace of 0
// is a force delete, which kills the container at once and never waits for the kubelet.
export const gracePeriod = z.pipe(
  int(-1, -1, 86_400),
  z.transform((n: number, ctx) =>
    n === 0
      ? invalid(ctx, '0 would make every eviction a force delete; use -1 (each pod its own) or 1 and up')
      : n === -1
        ? undefined
        : n,
  ),
);

export const launchTimeoutAction = fromRaw((value, ctx): LaunchTimeoutAction => {
  if (value === undefined) return LaunchTimeoutAction.Leave;
  const v = value.toLowerCase();
  if (v === LaunchTimeoutAction.Abandon || v === LaunchTimeoutAction.Leave) return v;
  return invalid(ctx, `expected abandon or leave, got ${quote(value)}`);
});

// An EC2 tag key: 1 to 128 characters, not starting with aws: (AWS's own).
export const optionalTagKey = fromRaw((value, ctx) => {
  if (value === undefined) return undefined;
  if (value.length > 128 || value.toLowerCase().startsWith('aws:')) {
    return invalid(ctx, `expected an EC2 tag key (at most 128 characters, not aws:...), got ${quote(value)}`);
  }
  return value;
});

// NoExecute too, as NTH allows it: the README warns, and only the fence rendered for it lets it through.
export const taintEffect = fromRaw((value, ctx) => {
  if (value === undefined) return 'NoSchedule';
  const effect = taintEffects.find((e) => e === value);
  return effect ?? invalid(ctx, `expected NoSchedule, PreferNoSchedule or NoExecute, got ${quote(value)}`);
});

export const budgetSpec = fromRaw((value, ctx) => {
  const parsed = parseBudgetSpec(value ?? '10%');
  if (parsed === 'invalid') {
    return invalid(
      ctx,
      `expected a count (1 and up), a percentage (1% to 100%) or none, got ${quote(value ?? '')}`,
    );
  }
  return parsed;
});
