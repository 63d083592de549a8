import { UsageError } from '../errors.js';
import { sampleEvent, sampleKinds } from '../events/samples.js';
import { type CliIo, ExitCode, writeLines } from './io.js';
import { table } from './text.js';

export interface EventsOptions {
  list?: boolean | undefined;
  instance?: string | undefined;
}

/**
 * `events <kind>`: a sample EventBridge event as JSON, fresh id and current time, to feed
 * `invoke --event -` or `aws events put-events`; `events --list` names the kinds.
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
  const event = sampleEvent(kind, options.instance ? { instanceId: options.instance } : {});
  io.stdout(`${JSON.stringify(event, null, 2)}\n`);
  return ExitCode.Ok;
}
