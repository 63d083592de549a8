import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { sampleEvent, sampleKinds } from '../events/samples.js';

/** Where `invoke --event` takes its event from. */
export interface EventSource {
  /** A JSON file, `-` for standard input, or a sample kind (see `events --list`). */
  spec: string;
  /** The instance of a sample event. */
  instanceId?: string | undefined;
  readStdin: () => Promise<string>;
}

/** The raw event, exactly as EventBridge would hand it to the function. Throws UsageError. */
export async function readEventInput(source: EventSource): Promise<unknown> {
  const { spec, instanceId } = source;
  const isKind = (sampleKinds as readonly string[]).includes(spec);
  if (isKind && !existsSync(spec)) return sampleEvent(spec, instanceId ? { instanceId } : {});
  if (instanceId) {
    throw new UsageError(
      '--instance applies to sample kinds only; edit the event file to change its instance',
    );
  }
  if (spec === '-') return parseJson(await source.readStdin(), 'standard input');
  if (!existsSync(spec)) {
    const looksLikeKind = /^[a-z-]+$/.test(spec);
    throw new UsageError(
      looksLikeKind
        ? `"${spec}" is neither an event file nor a sample kind (${sampleKinds.join(', ')})`
        : `cannot read event file ${spec}: no such file`,
    );
  }
  let text: string;
  try {
    text = await readFile(spec, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read event file ${spec}: ${(error as Error).message}`, { cause: error });
  }
  return parseJson(text, spec);
}

function parseJson(text: string, origin: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${origin} is not JSON: ${(error as Error).message}`, { cause: error });
  }
}
