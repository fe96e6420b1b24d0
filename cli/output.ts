/**
 * Output for people and machines: a progress bar on a terminal, plain lines otherwise (CI,
 * pipes, log files), messages on stderr so stdout carries only results (`--json`).
 */
import { SingleBar } from 'cli-progress';

export interface Progress {
  update(done: number): void;
  stop(): void;
}

export function info(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** A progress display for `total` steps of `label`. */
export function progress(label: string, total: number): Progress {
  if (process.stderr.isTTY) {
    const bar = new SingleBar({
      format: `${label} [{bar}] {value}/{total}`,
      stream: process.stderr,
      hideCursor: true,
    });
    bar.start(total, 0);
    return { update: (d) => bar.update(d), stop: () => bar.stop() };
  }
  let lastPct = -1;
  info(`${label}: 0/${total}`);
  return {
    update(done) {
      const pct = total ? Math.floor((done / total) * 10) : 10;
      if (pct !== lastPct && done < total) {
        lastPct = pct;
        info(`${label}: ${done}/${total}`);
      }
      if (done === total) info(`${label}: ${done}/${total} done`);
    },
    stop() {},
  };
}

/** Left-aligned text table. */
export function table(rows: (string | number)[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, String(c).length);
  }
  return rows
    .map((r) =>
      r
        .map((c, i) => String(c).padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
