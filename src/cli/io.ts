/** How the CLI talks to the outside: two streams, stdin and the environment, so tests can swap them. */
export interface CliIo {
  /** Writes text (with its own newlines) to standard output. */
  stdout(text: string): void;
  stderr(text: string): void;
  /** The whole of standard input, for `--event -`. */
  readStdin(): Promise<string>;
  env: Record<string, string | undefined>;
}

/** Exit codes: 0 done, 1 something failed while acting, 2 the input or local configuration is wrong. */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The real process's streams and environment. */
export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    env: process.env,
  };
}

/** Writes lines, each ending in a newline. */
export function writeLines(write: (text: string) => void, lines: readonly string[]): void {
  if (lines.length > 0) write(`${lines.join('\n')}\n`);
}
