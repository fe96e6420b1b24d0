/** Helpers for Node tests that run the project's own commands. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface Running {
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts a command in its own process group (so stopping it stops its children too). */
export function run(command: string, args: string[], cwd: string): Running {
  let out = '';
  const child = spawn(command, args, {
    cwd,
    detached: true,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  child.stdout?.on('data', (d) => {
    out += String(d);
  });
  child.stderr?.on('data', (d) => {
    out += String(d);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.pid) {
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** Polls `url` until it answers (any status) or `ms` pass. */
export async function waitForHttp(url: string, ms: number, running?: Running): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (running && running.child.exitCode !== null)
      throw new Error(`process exited early:\n${running.output()}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(
    `${url} did not answer within ${ms} ms${running ? `:\n${running.output()}` : ''}`,
  );
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `ipgate` bin (cli/bin.mjs) in a child process, without blocking the event loop. */
export function cli(
  args: string[],
  env: Record<string, string> = {},
  cwd = process.cwd(),
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${process.cwd()}/cli/bin.mjs`, ...args], {
      cwd,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += String(d);
    });
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
