import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** A child process of the test bed whose output goes to a log file in the bed's data dir. */
export interface ManagedProcess {
  name: string;
  logPath: string;
  child: ChildProcess;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

const running = new Set<ManagedProcess>();
const scratchDirs = new Set<string>();

/** A data dir to delete if the process ends before its owner could (Ctrl-C, a crash). */
export function removeOnExit(dir: string): () => void {
  scratchDirs.add(dir);
  return () => scratchDirs.delete(dir);
}

// Whatever happens to the test run, no control-plane process or data dir may outlive it.
process.once('exit', () => {
  for (const p of running) p.child.kill('SIGKILL');
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // process.exit runs the exit hook above.
    process.exit(130);
  });
}

/** Starts `command` with its stdout and stderr appended to `<logDir>/<name>.log`. */
export function startProcess(name: string, command: string, args: string[], logDir: string): ManagedProcess {
  const logPath = join(logDir, `${name}.log`);
  const log = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Two sources into one log: neither may end it (the other's last lines would be written after the
  // end and crash the run); it ends once both have closed.
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const closed = Promise.all(
    [child.stdout, child.stderr].map((s) => (s ? new Promise((done) => s.once('close', done)) : undefined)),
  );
  void closed.then(() => log.end());
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  const managed: ManagedProcess = {
    name,
    logPath,
    child,
    exited,
    async stop() {
      running.delete(managed);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
  running.add(managed);
  exited.then(() => running.delete(managed));
  return managed;
}

/** The last lines of a process's log, to explain why it did not come up. */
export function logTail(p: ManagedProcess, lines = 25): string {
  try {
    return readFileSync(p.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A TCP port on loopback that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Polls `probe` until it returns true. Fails early, with the process's log, if the process exits,
 * and at `timeoutMs` with the same explanation.
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; process?: ManagedProcess; intervalMs?: number },
): Promise<void> {
  const started = Date.now();
  let exitCode: number | null | undefined;
  options.process?.exited.then((code) => {
    exitCode = code;
  });
  for (;;) {
    if (exitCode !== undefined && options.process) {
      throw new Error(
        `${what}: ${options.process.name} exited with code ${exitCode}; its log ends:\n${logTail(options.process)}`,
      );
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() - started > options.timeoutMs) {
      const tail = options.process
        ? `; ${options.process.name}'s log ends:\n${logTail(options.process)}`
        : '';
      throw new Error(`${what}: not ready after ${options.timeoutMs} ms${tail}`);
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
  }
}
