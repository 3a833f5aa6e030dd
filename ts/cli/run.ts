// What every command shares: the config, Ctrl-C handling, exit codes and error reporting.
//   0 done · 1 failed · 2 bad configuration or usage · 130 interrupted (SIGINT/SIGTERM)
import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { ConfigError, isAbortError, ErrorCode } from '../errors.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export interface CommonOptions {
  config?: string;
  set?: string[];
  json?: boolean;
  quiet?: boolean;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** --config and --set, which every command reading the configuration takes. */
export function withConfigOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'YAML config (default: config/config.yaml if present, else built-in defaults)')
    .option('-s, --set <key.path=value>', 'override a config value (repeatable), e.g. --set image.seq_len=50', collect, []);
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

/** Runs a command body and maps its outcome to an exit code (printing what went wrong). */
export async function runCommand(body: () => Promise<number | void>, onError?: (err: unknown) => void): Promise<never> {
  let code: number = EXIT.ok;
  try {
    code = (await body()) ?? EXIT.ok;
  } catch (err) {
    onError?.(err);
    if (err instanceof ConfigError) {
      process.stderr.write(`ohlc-native: ${err.message}\n`);
      code = EXIT.usage;
    } else if (isAbortError(err)) {
      process.stderr.write('ohlc-native: interrupted\n');
      code = EXIT.interrupted;
    } else {
      const e = err as Error & { code?: string };
      process.stderr.write(`ohlc-native: ${e.message ?? String(err)}\n`);
      if (process.env.OHLC_NATIVE_DEBUG && e.stack) process.stderr.write(`${e.stack}\n`);
      code = e.code === ErrorCode.invalidArgument ? EXIT.usage : EXIT.failed;
    }
  }
  // Let stdout/stderr drain before leaving.
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(code);
}
