// Runs a command on a real terminal, as a person sees it: a detached tmux session of a given
// size, whose rendered screen is read back with capture-pane. Tests skip when tmux is absent.
import { execFileSync, spawnSync } from 'node:child_process';

export const HAVE_TMUX = spawnSync('tmux', ['-V']).status === 0;

export interface Screen {
  /** The rendered screen, one string per row (trailing blanks trimmed). */
  rows: string[];
  /** Rows as logical lines: a line the terminal wrapped is joined again (tmux -J). */
  lines: string[];
  /** The screen with its colour escapes (tmux -e). */
  raw: string;
  status: number | null;
}

let sessions = 0;

/** Starts `command` in `cwd`; `keys` (if any) are typed once `waitFor` shows on screen. */
export async function onTerminal(command: string, cwd: string, options: { width?: number; height?: number; env?: Record<string, string>; waitFor?: RegExp; keys?: string; timeoutMs?: number } = {}): Promise<Screen> {
  const name = `ohlc-test-${process.pid}-${sessions++}`;
  const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
  const script = `cd ${JSON.stringify(cwd)} && ${env ? `env ${env} ` : ''}${command}; echo "<<EXIT $?>>"; sleep 600`;
  execFileSync('tmux', ['new-session', '-d', '-s', name, '-x', String(options.width ?? 160), '-y', String(options.height ?? 50), script]);
  const capture = (join: boolean, escapes = false) => execFileSync('tmux', ['capture-pane', '-p', ...(join ? ['-J'] : []), ...(escapes ? ['-e'] : []), '-t', name], { encoding: 'utf8' });
  try {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    let typed = options.keys === undefined;
    for (;;) {
      const screen = capture(false);
      if (!typed && options.waitFor?.test(screen)) {
        execFileSync('tmux', ['send-keys', '-t', name, options.keys!, 'Enter']);
        typed = true;
      }
      const exit = /<<EXIT (\d+)>>/.exec(screen);
      if (exit) {
        const trim = (text: string) => text.split('\n').map((r) => r.trimEnd());
        return { rows: trim(screen), lines: trim(capture(true)), raw: capture(false, true), status: Number(exit[1]) };
      }
      if (Date.now() > deadline) throw new Error(`timed out; screen:\n${screen}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    spawnSync('tmux', ['kill-session', '-t', name]);
  }
}
