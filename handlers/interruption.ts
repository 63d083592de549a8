// PLACEHOLDER written by helper "deploy" so `serverless package` has an entry point to bundle.
// The lead replaces this file with the real handler.
import type { EventBridgeEvent } from 'aws-lambda';

/** Placeholder: accepts any EventBridge event and does nothing. */
export const handler = async (_event: EventBridgeEvent<string, unknown>): Promise<void> => {};
