// Loading the configuration: a YAML file (or the built-in defaults), `--set key.path=value`
// overrides, validation, and relative paths resolved against the config file's folder.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { resolveDownloadOptions } from '../data/options.js';
import { ConfigError, isArgumentError } from '../errors.js';
import { redactUrl, redactUrls } from '../util/url.js';
import { NAMES_VALUE } from './checks.js';
import { CONFIG_TERMS, downloadOptionsFrom } from './data-options.js';
import { configSchema, dateOrderProblem, type PipelineConfig } from './schema.js';

export { ConfigError } from '../errors.js';

export interface LoadedConfig {
  config: PipelineConfig;
  /** The file read, or null for the built-in defaults. */
  file: string | null;
  /** Folder that relative paths resolve against. */
  baseDir: string;
}

export const DEFAULT_CONFIG_FILE = 'config/config.yaml';

/** A value as a problem line shows it (a URL's userinfo redacted: the line reaches the console). */
function render(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(redactUrls(value));
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
  let v: unknown = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** Where a value came from: the --set that wrote it (or a parent of it), else the file. */
type Origins = Map<string, string>;

function originOf(path: PropertyKey[], origins: Origins): string {
  for (let n = path.length; n > 0; n--) {
    const set = origins.get(path.slice(0, n).join('.'));
    if (set !== undefined) return ` (from --set ${redactUrl(set)})`;
  }
  return '';
}

/** Edit distance, for "did you mean" (keys are short). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** The known keys beside an unknown one (every key has a default, so the defaults show them all). */
const DEFAULTS = configSchema.parse({}) as unknown as Record<string, unknown>;
function suggestion(path: PropertyKey[], key: string): string {
  const known = valueAt(DEFAULTS, path);
  if (known === null || typeof known !== 'object' || Array.isArray(known)) return '';
  const best = Object.keys(known)
    .map((k) => ({ k, d: distance(key.toLowerCase(), k) }))
    .sort((a, b) => a.d - b.d)[0];
  if (!best || best.d > Math.max(2, Math.floor(key.length / 3))) return '';
  return `; did you mean ${[...path, best.k].join('.')}?`;
}

function problemsOf(error: z.ZodError, raw: unknown, origins: Origins): string[] {
  const out: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        out.push(`${path.join('.')}: unknown key (value ${render(valueAt(raw, path))})${originOf(path, origins)}${suggestion(issue.path, key)}`);
      }
      continue;
    }
    const path = issue.path.join('.') || '(root)';
    const namesValue = issue.code === 'custom' && (issue.params as Record<string, unknown> | undefined)?.[NAMES_VALUE] === true;
    const message = namesValue ? `${path}: ${issue.message}` : `${path}: ${issue.message} (got ${render(valueAt(raw, issue.path))})`;
    out.push(message + originOf(issue.path, origins));
  }
  return out;
}

/** Applies `key.path=value` overrides; values are parsed as YAML (numbers, booleans, lists). */
export function applyOverrides(raw: Record<string, unknown>, sets: string[], origins: Origins = new Map()): Record<string, unknown> {
  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0) throw new ConfigError('--set', [`"${set}": expected key.path=value`]);
    const keys = set.slice(0, eq).trim().split('.');
    if (keys.some((k) => k === '' || k === '__proto__' || k === 'constructor' || k === 'prototype')) {
      throw new ConfigError('--set', [`"${set}": not a valid key path`]);
    }
    let value: unknown;
    try {
      value = parseYaml(set.slice(eq + 1));
    } catch {
      value = set.slice(eq + 1);
    }
    let node: Record<string, unknown> = raw;
    for (const k of keys.slice(0, -1)) {
      if (node[k] === undefined || node[k] === null || typeof node[k] !== 'object') node[k] = {};
      node = node[k] as Record<string, unknown>;
    }
    node[keys.at(-1)!] = value;
    origins.set(keys.join('.'), set);
  }
  return raw;
}

/**
 * The data layer's own checks (a futures symbol on spot, 2021-02-30, a base URL with a query, ...)
 * run here too, so such a config fails before anything is written rather than mid-run.
 */
function dataProblem(config: PipelineConfig): string | null {
  try {
    resolveDownloadOptions(downloadOptionsFrom(config));
    return null;
  } catch (err) {
    if (!isArgumentError(err)) throw err;
    return `${(CONFIG_TERMS as Record<string, string>)[err.param] ?? 'data'}: expected ${err.expected} but received ${err.received}`;
  }
}

/** Parses and validates a raw config object; throws ConfigError listing every problem. */
export function validateConfig(raw: unknown, source: string, origins: Origins = new Map()): PipelineConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = problemsOf(result.error, raw, origins);
    // zod runs cross-field checks only on otherwise valid input: report the date order anyway.
    const data = valueAt(raw, ['data']) as Record<string, unknown> | undefined;
    const order = dateOrderProblem(data?.start_date ?? '2020-01', data?.end_date ?? '2024-01');
    if (order && !problems.some((p) => p.startsWith('data.end_date'))) problems.push(`data.end_date: ${order} (got ${render(data?.end_date)})`);
    throw new ConfigError(source, problems);
  }
  const problem = dataProblem(result.data);
  if (problem) throw new ConfigError(source, [problem]);
  return result.data;
}

/**
 * The config file's text: a regular file, in UTF-8. Another encoding would turn a key or a path
 * into something else without a word (`données` read as Latin-1), so it is refused.
 */
function readConfigText(file: string): string {
  const info = statSync(file);
  if (!info.isFile()) throw new ConfigError(file, [`not a regular file (${info.isDirectory() ? 'a directory' : 'a FIFO, socket or device'}); give the path of a YAML file`]);
  const bytes = readFileSync(file);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new ConfigError(file, [`not UTF-8 text: byte ${at} (0x${bytes[at].toString(16).padStart(2, '0')}) starts no UTF-8 character; save the file as UTF-8`]);
  }
}

/** The offset of the first byte that starts no well-formed UTF-8 sequence (lead and continuation bytes). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const c = bytes[i];
    const follow = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : -1;
    if (follow < 0) return i;
    for (let k = 1; k <= follow; k++) if (i + k >= bytes.length || (bytes[i + k] & 0xc0) !== 0x80) return i;
    i += follow + 1;
  }
  return Math.max(0, bytes.length - 1);
}

export function loadConfig(options: { file?: string; sets?: string[]; cwd?: string } = {}): LoadedConfig {
  const cwd = options.cwd ?? process.cwd();
  let file: string | null = null;
  if (options.file) {
    file = resolve(cwd, options.file);
    if (!existsSync(file)) throw new ConfigError(options.file, [`config file ${file} does not exist`]);
  } else if (existsSync(resolve(cwd, DEFAULT_CONFIG_FILE))) {
    file = resolve(cwd, DEFAULT_CONFIG_FILE);
  }
  let raw: unknown = {};
  if (file) {
    const text = readConfigText(file);
    try {
      raw = parseYaml(text) ?? {};
    } catch (err) {
      throw new ConfigError(file, [`not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(file, [`(root): expected a mapping of sections (got ${render(raw)})`]);
  }
  const origins: Origins = new Map();
  applyOverrides(raw as Record<string, unknown>, options.sets ?? [], origins);
  const config = validateConfig(raw, file ?? 'built-in defaults', origins);
  const baseDir = file ? dirname(file) : cwd;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  config.paths = {
    raw_data: abs(config.paths.raw_data),
    processed_data: abs(config.paths.processed_data),
    models: abs(config.paths.models),
    logs: abs(config.paths.logs),
  };
  return { config, file, baseDir };
}
