/** What was written to stdout and stderr while a capture ran. */
export interface CapturedOutput {
  readonly text: string;
  /** JSON log lines (Powertools Logger and EMF metrics), parsed; other lines are skipped. */
  readonly jsonLines: Record<string, unknown>[];
  stop(): void;
}

/**
 * Captures everything written to process.stdout and process.stderr, where Powertools Logger and
 * Metrics write their JSON lines, until stop(). With `passThrough` false the output is kept from
 * the terminal (for runs of thousands of invocations).
 */
export function captureOutput(options: { passThrough?: boolean } = {}): CapturedOutput {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write);
  streams.forEach((stream, i) => {
    const original = originals[i]!;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      if (options.passThrough ?? true)
        return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  });
  return {
    get text() {
      return chunks.join('');
    },
    get jsonLines() {
      return chunks
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        });
    },
    stop() {
      streams.forEach((stream, i) => {
        stream.write = originals[i]!;
      });
    },
  };
}
