// Shared set-up for the download tests: a temporary cache directory and a recording logger.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataLogger } from '../../ts/data/types.js';

export interface LogEntry {
  level: 'info' | 'warn' | 'debug';
  message: string;
  fields?: Record<string, unknown>;
}

export class RecordingLogger implements DataLogger {
  readonly entries: LogEntry[] = [];
  info(message: string, fields?: Record<string, unknown>): void {
    this.entries.push({ level: 'info', message, fields });
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.entries.push({ level: 'warn', message, fields });
  }
  debug(message: string, fields?: Record<string, unknown>): void {
    this.entries.push({ level: 'debug', message, fields });
  }
  has(level: LogEntry['level'], pattern: RegExp): boolean {
    return this.entries.some((e) => e.level === level && pattern.test(e.message));
  }
}

/** A fresh directory under the OS temp dir; call the returned function to remove it. */
export function tempDir(prefix = 'ohlc-data-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
