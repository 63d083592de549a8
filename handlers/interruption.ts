import type { Context, EventBridgeEvent } from 'aws-lambda';
import { createLambdaApp, summarize } from '../src/app/lambda-app.js';

// Built once per container: a bad configuration fails the init, naming the variable.
const app = createLambdaApp();

/** EventBridge → parse → resolve → drain → lifecycle action → report. All logic lives in src/. */
export const handler = async (event: EventBridgeEvent<string, unknown>, context: Context) =>
  summarize(await app.handle(event, context));
