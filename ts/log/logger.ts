// Pipeline logging with pino: structured JSON lines in logs/pipeline_YYYYMMDD_HHMMSS.log, and
// the same records, human-readable, on the console (stderr, so stdout stays clean for --json).
import { mkdirSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import { redactUrl, redactUrls } from '../util/url.js';

const require = createRequire(import.meta.url);
const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/**
 * Console lines without colour for logs that are not a terminal: the same shape as pino-pretty's
 * ("[HH:MM:SS] INFO: message {fields}"), without loading it.
 */
function plainConsole(fd: number): pino.DestinationStream {
  return {
    write(line: string) {
      const { level, time, msg, ...fields } = JSON.parse(line) as { level: number; time: string; msg?: string };
      const d = new Date(time);
      const hh = [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
      const rest = Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : '';
      writeSync(fd, `[${hh}] ${LEVEL_NAMES[level] ?? level}: ${msg ?? ''}${rest}\n`);
    },
  };
}

/** Also a DataLogger (message first), so it can be handed to the data layer as it is. */
export interface PipelineLogger {
  /** The underlying pino logger (fields first, message second). */
  pino: Logger;
  /** The log file, or null when logging to the console only. */
  file: string | null;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Flushes both destinations (before exit). */
  flush(): void;
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export interface LoggerOptions {
  /** Folder for pipeline_YYYYMMDD_HHMMSS.log; null: no file. */
  logsDir: string | null;
  /** Console level: 'info' normally, 'warn' with --quiet, 'silent' to mute. */
  consoleLevel?: pino.LevelWithSilent;
  now?: Date;
  /** Console destination (default stderr). */
  consoleFd?: number;
}

export function createPipelineLogger(options: LoggerOptions): PipelineLogger {
  const streams: pino.StreamEntry[] = [];
  let file: string | null = null;
  let fileStream: pino.DestinationStream | undefined;
  if (options.logsDir) {
    mkdirSync(options.logsDir, { recursive: true });
    file = join(options.logsDir, `pipeline_${stamp(options.now ?? new Date())}.log`);
    fileStream = pino.destination({ dest: file, sync: true, append: true, mkdir: true });
    streams.push({ level: 'debug', stream: fileStream });
  }
  const consoleLevel = options.consoleLevel ?? 'info';
  const fd = options.consoleFd ?? 2;
  const tty = fd === 2 ? process.stderr.isTTY === true : process.stdout.isTTY === true;
  // pino-pretty (colours) on a terminal only: it is loaded then, sparing every other run its load time.
  const consoleStream = tty
    ? (require('pino-pretty') as typeof PinoPretty)({ destination: fd, sync: true, colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss', singleLine: true })
    : plainConsole(fd);
  if (consoleLevel !== 'silent') streams.push({ level: consoleLevel as pino.Level, stream: consoleStream });
  const logger = pino({ level: 'debug', base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.multistream(streams));
  // Every line reaches a file and the console: no URL in it keeps its userinfo (a password).
  const call = (level: 'info' | 'warn' | 'error' | 'debug') => (message: string, fields?: Record<string, unknown>) =>
    fields ? logger[level](redactUrls(fields) as Record<string, unknown>, redactUrl(message)) : logger[level](redactUrl(message));
  return {
    pino: logger,
    file,
    info: call('info'),
    warn: call('warn'),
    error: call('error'),
    debug: call('debug'),
    flush() {
      (fileStream as { flushSync?: () => void } | undefined)?.flushSync?.();
    },
  };
}
