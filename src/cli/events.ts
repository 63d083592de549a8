import { UsageError } from '../errors.js';
import { sampleEvent, sampleKinds } from '../events/samples.js';
import { type CliIo, ExitCode, writeLines } from './io.js';
import { table } from './text.js';

export interface EventsOptions {
  list?: boolean | undefined;
  instance?: string | undefined;
  /** The account and region the event claims: the deployed function drops events not of its own. */
  account?: string | undefined;
  region?: string | undefined;
}

/**
 * `events <kind>`: a sample EventBridge event as JSON, fresh id and current time, to feed
 * `invoke --event -` or the deployed function (`aws lambda invoke`, or a custom bus whose rule passes
 * `$.detail`: EventBridge refuses `put-events` with an `aws.*` source); `events --list` names the kinds.
 */
export function runEvents(kind: string | undefined, options: EventsOptions, io: CliIo): ExitCode {
  if (!kind && !options.list) throw new UsageError('name a sample kind, or pass --list to see them');
  if (options.list || !kind) {
    const rows = sampleKinds.map((name) => {
      const sample = sampleEvent(name);
      return [name, String(sample.source), String(sample['detail-type'])];
    });
    writeLines(io.stdout, table(['KIND', 'SOURCE', 'DETAIL-TYPE'], rows, ''));
    return ExitCode.Ok;
  }
  const event = sampleEvent(kind, {
    ...(options.instance ? { instanceId: options.instance } : {}),
    ...(options.account ? { account: options.account } : {}),
    ...(options.region ? { region: options.region } : {}),
  });
  io.stdout(`${JSON.stringify(event, null, 2)}\n`);
  return ExitCode.Ok;
}
