/**
 * The one registry of event parsers, keyed by (source, detail-type). Adding a kind of event means
 * writing a parser and listing it here; nothing else chooses between parsers.
 */
import { asgLaunchParser } from './asg-launch.js';
import { asgTerminateParser } from './asg-terminate.js';
import { capacityReservationInterruptionParser } from './capacity-reservation-interruption.js';
import { drainHandOffParser } from './drain-hand-off.js';
import type { EventParser } from './parser.js';
import { rebalanceRecommendationParser } from './rebalance-recommendation.js';
import { scheduledChangeParser } from './scheduled-change.js';
import { scheduledReconcileParser } from './scheduled-reconcile.js';
import { spotInterruptionParser } from './spot-interruption.js';
import { stateChangeParser } from './state-change.js';

/** Every parser, in the order the README lists the events. */
export const eventParsers: readonly EventParser[] = [
  spotInterruptionParser,
  rebalanceRecommendationParser,
  stateChangeParser,
  scheduledChangeParser,
  asgTerminateParser,
  capacityReservationInterruptionParser,
  asgLaunchParser,
];

/** Events that are not notices but triggers: the reconcile schedule, a drain handed on. */
export const triggerParsers: readonly EventParser[] = [scheduledReconcileParser, drainHandOffParser];

// Nested maps: no string joining, so no (source, detail-type) pair can collide with another.
const registry = new Map<string, Map<string, EventParser>>();
for (const parser of [...eventParsers, ...triggerParsers]) {
  const byDetailType = registry.get(parser.source) ?? new Map<string, EventParser>();
  if (byDetailType.has(parser.detailType)) {
    throw new Error(`two parsers for ${parser.source} / ${parser.detailType}`);
  }
  byDetailType.set(parser.detailType, parser);
  registry.set(parser.source, byDetailType);
}

/** The parser registered for (source, detail-type), or undefined. */
export function findParser(source: string, detailType: string): EventParser | undefined {
  return registry.get(source)?.get(detailType);
}

/** The (source, detail-type) pairs an EventBridge rule must match, e.g. to build its event pattern. */
export function registeredEventTypes(): { source: string; detailType: string }[] {
  return eventParsers.map(({ source, detailType }) => ({ source, detailType }));
}
