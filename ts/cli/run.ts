// What every command shares: the config, the console (terminal + log), Ctrl-C handling, exit
// codes and error reporting.
//   0 done · 1 failed · 2 bad configuration or usage · 130 interrupted (SIGINT/SIGTERM)
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONFIG_FILE, loadConfig, type LoadedConfig } from '../config/load.js';
import { ConfigError, ErrorCode, isAbortError } from '../errors.js';
import { packageInfo } from '../info.js';
import { createPipelineLogger, type PipelineLogger } from '../log/logger.js';
import { createTerminal, type Terminal } from './terminal.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export interface CommonOptions {
  config?: string;
  set?: string[];
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Which config file a command reads without --config, said in its --help. */
function defaultConfigDescription(): string {
  const file = resolve(DEFAULT_CONFIG_FILE);
  return existsSync(file) ? `default here: ${file}` : `default: ${DEFAULT_CONFIG_FILE} when present (not here, so the built-in defaults)`;
}

/** --config and --set, which every command reading the configuration takes. */
export function withConfigOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', `YAML config (${defaultConfigDescription()})`)
    .option('-s, --set <key.path=value>', 'override a config value (repeatable), e.g. --set image.seq_len=50', collect, []);
}

/** --json, --quiet and --verbose, for commands that report as they go. */
export function withOutputOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print one JSON object on stdout at the end (an {"error": ...} object on failure)')
    .option('-q, --quiet', 'no progress and no info lines on the console; warnings and errors only (the log file is still complete)')
    .option('-v, --verbose', 'also debug lines on the console (cache decisions, retries, timings), and stack traces of errors');
}

/** An AbortSignal that fires on the first SIGINT/SIGTERM; a second one exits at once. */
export function interruptSignal(onInterrupt?: () => void): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    onInterrupt?.();
    controller.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

export function readConfig(options: CommonOptions): LoadedConfig {
  return loadConfig({ file: options.config, sets: options.set ?? [] });
}

/** The console and the log of one command run. */
export interface Session {
  terminal: Terminal;
  log: PipelineLogger;
  interrupt: { signal: AbortSignal; dispose(): void };
  /** Stops the bars, flushes the log, releases Ctrl-C. */
  close(): void;
}

/**
 * Opens the console and the log file (`<logsDir>/<name>_YYYYMMDD_HHMMSS.log`) of a command and
 * records what was run: the package version, the command line and every --set override.
 */
export function openSession(name: string, opts: CommonOptions, loaded: LoadedConfig): Session {
  const terminal = createTerminal({ quiet: opts.quiet === true });
  const log = createPipelineLogger({
    logsDir: loaded.config.paths.logs,
    name,
    consoleLevel: opts.quiet ? 'warn' : opts.verbose ? 'debug' : 'info',
    console: terminal,
  });
  const { name: pkg, version } = packageInfo();
  log.fileOnly('info', `${pkg} ${version}: ${name}`, {
    argv: process.argv.slice(2),
    cwd: process.cwd(),
    config: loaded.file ?? 'built-in defaults',
    sets: opts.set ?? [],
    node: process.version,
  });
  const interrupt = interruptSignal(() => log.warn('Interrupt received: stopping (press Ctrl-C again to exit at once)'));
  return {
    terminal,
    log,
    interrupt,
    close() {
      terminal.stop();
      interrupt.dispose();
      log.flush();
    },
  };
}

/** The fields of an error worth showing in a JSON error object (code, message, detail properties). */
function errorObject(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { code: ErrorCode.internal, message: String(err) };
  const details: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) if (k !== 'stack' && k !== 'cause' && (v === null || ['string', 'number', 'boolean'].includes(typeof v) || Array.isArray(v))) details[k] = v;
  return { ...details, code: (err as { code?: string }).code ?? ErrorCode.internal, name: err.name, message: err.message };
}

export interface RunOptions {
  /** --json: a failure is also an {"error": {...}} object on stdout. */
  json?: boolean;
  /** --verbose: stack traces of errors (OHLC_NATIVE_DEBUG=1 does the same). */
  verbose?: boolean;
}

/** Runs a command body and maps its outcome to an exit code, printing what went wrong once. */
export async function runCommand(body: () => Promise<number | void>, options: RunOptions = {}): Promise<never> {
  let code: number = EXIT.ok;
  try {
    code = (await body()) ?? EXIT.ok;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ohlc-native: ${err.message}\n`);
      code = EXIT.usage;
    } else if (isAbortError(err)) {
      process.stderr.write('ohlc-native: interrupted\n');
      code = EXIT.interrupted;
    } else {
      const e = err as Error & { code?: string };
      process.stderr.write(`ohlc-native: ${e.message ?? String(err)}\n`);
      if ((options.verbose || process.env.OHLC_NATIVE_DEBUG) && e.stack) process.stderr.write(`${e.stack}\n`);
      code = e.code === ErrorCode.invalidArgument ? EXIT.usage : EXIT.failed;
    }
    if (options.json) process.stdout.write(`${JSON.stringify({ error: errorObject(err) })}\n`);
  }
  // Let stdout/stderr drain before leaving.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}
