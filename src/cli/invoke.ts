import { UsageError } from '../errors.js';
import { parseEvent } from '../events/parse-event.js';
import type { InterruptionNotice } from '../types.js';
import { readEventInput } from './event-input.js';
import { type CliIo, ExitCode, writeLines } from './io.js';
import { progressPrinter, renderReport } from './render.js';
import { awsSession, localSession, type SessionOptions } from './session.js';

export interface InvokeOptions extends SessionOptions {
  /** A JSON file, `-` for stdin, or a sample kind. */
  event: string;
  instance?: string | undefined;
  aws?: boolean | undefined;
}

/**
 * `invoke`: hands one EventBridge event to the handler's code, printing each drain step as it
 * happens and the report at the end. An invalid event stops before any cluster is contacted.
 */
export async function runInvoke(options: InvokeOptions, io: CliIo): Promise<ExitCode> {
  const raw = await readEventInput({
    spec: options.event,
    instanceId: options.instance,
    readStdin: io.readStdin,
  });
  const parsed = parseEvent(raw);
  if (parsed.status === 'invalid') {
    throw new UsageError(`invalid event${parsed.eventId ? ` ${parsed.eventId}` : ''}: ${parsed.reason}`);
  }
  const line = (text: string) => io.stdout(`${text}\n`);
  if (parsed.status === 'ignored') {
    line(`event ${parsed.eventId ?? '(no id)'}: ignored: ${parsed.reason}`);
    return ExitCode.Ok;
  }
  if (parsed.status === 'running' && !options.aws) {
    // Whether the machine came back is EC2's word (its launch time): a kubeconfig alone cannot say.
    line(
      `event ${parsed.eventId}: ignored: instance ${parsed.instanceId} running again needs EC2 (--aws); ` +
        '`reconcile --ec2` moves marked nodes on',
    );
    return ExitCode.Ok;
  }

  const session = options.aws ? await awsSession(options, io) : await localSession(options, io);
  const interrupt = new AbortController();
  // First Ctrl-C: end the drain early and still report; second: leave at once.
  const onInterrupt = () => {
    if (interrupt.signal.aborted) process.exit(130);
    io.stderr('interrupted: ending the drain early (Ctrl-C again to quit now)\n');
    interrupt.abort();
  };
  if (!options.aws) process.on('SIGINT', onInterrupt);
  const notices = parsed.status === 'notices' ? parsed.notices : [];
  try {
    if (parsed.status === 'reconcile') line(`event ${parsed.eventId}: the reconcile schedule`);
    if (parsed.status === 'running')
      line(`event ${parsed.eventId}: instance ${parsed.instanceId} running again`);
    for (const notice of notices) line(noticeLine(notice));
    line(`-> ${session.where}${session.deps.config.drain.dryRun ? ' (dry run: nothing will change)' : ''}`);
    session.deps.onProgress = progressPrinter(line, { showInstance: notices.length > 1 });
    const report = await session.handle(raw, interrupt.signal);
    writeLines(io.stdout, ['', ...renderReport(report)]);
    // The function drops such an event untouched, as here; for an operator it is bad input.
    return report.status === 'rejected' ? ExitCode.Usage : ExitCode.Ok;
  } finally {
    process.off('SIGINT', onInterrupt);
    session.close();
  }
}

function noticeLine(notice: InterruptionNotice): string {
  const deadline = notice.deadline ? `, deadline ${notice.deadline.toISOString()}` : '';
  const detail = notice.detail ? ` (${notice.detail})` : '';
  return `${notice.kind}${detail} for ${notice.instanceId}, event ${notice.eventId}${deadline}`;
}
