// Pipeline logging with pino: structured JSON lines in logs/<command>_YYYYMMDD_HHMMSS.log, and the
// same records, readable, on the console. The console side is a writer the CLI hands over (its
// terminal, which keeps log lines whole above progress bars); pino-pretty formats them on a
// terminal (coloured unless NO_COLOR), a plain "[HH:MM:SS] LEVEL: message {fields}" otherwise.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import { redactUrl, redactUrls } from '../util/url.js';

const require = createRequire(import.meta.url);

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVEL_VALUES: Record<LogLevel | 'silent', number> = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity };
const LEVEL_NAMES: Record<number, string> = { 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR' };

/** Where console lines go, and how they may look. */
export interface ConsoleWriter {
  write(text: string): void;
  /** A terminal: pino-pretty formatting. */
  tty: boolean;
  color: boolean;
}

/** Also a DataLogger (message first), so it can be handed to the data layer as it is. */
export interface PipelineLogger {
  /** The underlying pino logger of the file (fields first, message second). */
  pino: Logger;
  /** The log file, or null when logging to the console only. */
  file: string | null;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  /** A record for the log file only (the console says it another way, or not at all). */
  fileOnly(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  /** Flushes the file (before exit). */
  flush(): void;
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export interface LoggerOptions {
  /** Folder for <name>_YYYYMMDD_HHMMSS.log; null: no file. */
  logsDir: string | null;
  /** The log file's name before the time stamp (default 'pipeline'). */
  name?: string;
  /** Console level: 'info' normally, 'warn' with --quiet, 'debug' with --verbose, 'silent' to mute. */
  consoleLevel?: LogLevel | 'silent';
  /** Default: plain lines on stderr. */
  console?: ConsoleWriter;
  now?: Date;
}

type Formatter = (record: Record<string, unknown>) => string;

function plainFormat(record: Record<string, unknown>): string {
  const { level, time, msg, ...fields } = record as { level: number; time: string; msg?: string };
  const d = new Date(time);
  const hh = [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  const rest = Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : '';
  return `[${hh}] ${LEVEL_NAMES[level] ?? level}: ${msg ?? ''}${rest}\n`;
}

function consoleFormat(writer: ConsoleWriter): Formatter {
  if (!writer.tty) return plainFormat;
  // pino-pretty only for a terminal: it is loaded then, sparing every other run its load time.
  const { prettyFactory } = require('pino-pretty') as typeof PinoPretty;
  const pretty = prettyFactory({ colorize: writer.color, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss', singleLine: true });
  return (record) => pretty(record);
}

export function createPipelineLogger(options: LoggerOptions): PipelineLogger {
  let file: string | null = null;
  let fileStream: pino.DestinationStream | undefined;
  if (options.logsDir) {
    mkdirSync(options.logsDir, { recursive: true });
    file = join(options.logsDir, `${options.name ?? 'pipeline'}_${stamp(options.now ?? new Date())}.log`);
    fileStream = pino.destination({ dest: file, sync: true, append: true, mkdir: true });
  }
  const logger = pino({ level: 'debug', base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, fileStream ?? { write() {} });
  const writer: ConsoleWriter = options.console ?? { write: (text) => process.stderr.write(text), tty: false, color: false };
  const format = consoleFormat(writer);
  const consoleLevel = LEVEL_VALUES[options.consoleLevel ?? 'info'];

  // Every line reaches a file and the console: no URL in it keeps its userinfo (a password).
  const toFile = (level: LogLevel, message: string, fields?: Record<string, unknown>) =>
    fields ? logger[level](redactUrls(fields) as Record<string, unknown>, redactUrl(message)) : logger[level](redactUrl(message));
  const record = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    toFile(level, message, fields);
    if (LEVEL_VALUES[level] >= consoleLevel) {
      writer.write(format({ level: LEVEL_VALUES[level], time: new Date().toISOString(), msg: redactUrl(message), ...(fields ? (redactUrls(fields) as Record<string, unknown>) : {}) }));
    }
  };
  return {
    pino: logger,
    file,
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    debug: record('debug'),
    fileOnly: toFile,
    flush() {
      (fileStream as { flushSync?: () => void } | undefined)?.flushSync?.();
    },
  };
}
