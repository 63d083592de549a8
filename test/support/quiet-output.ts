/**
 * Vitest setup file: keeps the handler's JSON log lines and EMF documents out of a passing run.
 *
 * Powertools Logger and Metrics write them straight to process.stdout, past vitest's console capture
 * (which `silent: 'passed-only'` in vitest.config.ts governs). They are held here per test and shown
 * with the test's own output if it fails. TEST_LOGS=1 shows everything as it is written.
 * Tests that capture the handler's output (test/reliability/capture-output.ts) wrap these writes, so
 * they still see every line.
 */
import { beforeEach } from 'vitest';

/** One or more whole JSON lines, as Powertools writes them: `{"level":...}\n`, `{"_aws":...}\n`. */
function isJsonLog(text: string): boolean {
  return text.startsWith('{"') && text.endsWith('}\n');
}

if (process.env.TEST_LOGS !== '1') {
  let held: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      if (!isJsonLog(text)) return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
      held.push(text);
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  }

  beforeEach(({ onTestFailed }) => {
    held = [];
    onTestFailed(() => {
      // Through the console, so the runner prints it with the failed test (silent: 'passed-only').
      if (held.length > 0) console.log(`handler output (${held.length} lines):\n${held.join('').trimEnd()}`);
    });
  });
}
