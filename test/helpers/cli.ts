// Runs the built CLI (dist/cli/main.js) as users do, in a directory of the test's choosing.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface CliResult {
  status: number | null;
  /** The signal that killed the CLI, if one did. */
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end; one still running after `timeoutMs` is killed (status null, signal set). */
export function runCli(args: string[], cwd: string, env: Record<string, string> = {}, timeoutMs = 120_000): CliResult & { signal: NodeJS.Signals | null } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 << 20, timeout: timeoutMs });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export function runCliAsync(args: string[], cwd: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** Starts the CLI and resolves once stderr contains `marker`, returning the running child. */
export function startCli(args: string[], cwd: string, marker: RegExp): Promise<{ child: ChildProcess; exit: Promise<CliResult> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd });
    let stdout = '';
    let stderr = '';
    let seen = false;
    const exit = new Promise<CliResult>((res) => child.on('exit', (status) => res({ status, stdout, stderr })));
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!seen && marker.test(stderr)) {
        seen = true;
        resolve({ child, exit });
      }
    });
    void exit.then((r) => !seen && reject(new Error(`CLI exited (${r.status}) before ${marker}: ${r.stderr}`)));
  });
}
