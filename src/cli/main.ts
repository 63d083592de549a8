/**
 * The CLI's entry: bin/eks-spot-drainer.js calls run(), from the bundle (dist/cli.mjs) or, in a
 * checkout, from this file through tsx. Every failure ends as one line on stderr and an exit code.
 */
import { CommanderError } from 'commander';
import { explainError } from './explain-error.js';
import { type CliIo, ExitCode, processIo } from './io.js';
import { buildProgram } from './program.js';

/** Runs one command line (arguments after the program name) and returns its exit code. */
export async function main(args: readonly string[], io: CliIo = processIo()): Promise<number> {
  let code: number = ExitCode.Ok;
  const program = buildProgram(io, (exitCode) => {
    code = exitCode;
  });
  try {
    await program.parseAsync([...args], { from: 'user' });
    return code;
  } catch (error) {
    // Commander has printed its own message (usage error) or the help; only the code is left.
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    const { message, exitCode } = explainError(error);
    io.stderr(`eks-spot-drainer: error: ${message}\n`);
    return exitCode;
  }
}

/**
 * Runs the process's command line and exits with its code once stdout and stderr are flushed; an
 * open keep-alive socket or a watch must not keep a finished command alive.
 */
export async function run(argv: readonly string[] = process.argv): Promise<never> {
  const code = await main(argv.slice(2));
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(code);
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}
