// Loading the configuration: a YAML file (or the built-in defaults), `--set key.path=value`
// overrides, validation, and relative paths resolved against the config file's folder.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { resolveDownloadOptions } from '../data/options.js';
import { ConfigError, isArgumentError } from '../errors.js';
import { redactUrls } from '../util/url.js';
import { NAMES_VALUE } from './checks.js';
import { downloadOptionsFrom } from './data-options.js';
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

function problemsOf(error: z.ZodError, raw: unknown): string[] {
  const out: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key].join('.');
        out.push(`${path}: unknown key (value ${render(valueAt(raw, [...issue.path, key]))})`);
      }
      continue;
    }
    const path = issue.path.join('.') || '(root)';
    const namesValue = issue.code === 'custom' && (issue.params as Record<string, unknown> | undefined)?.[NAMES_VALUE] === true;
    out.push(namesValue ? `${path}: ${issue.message}` : `${path}: ${issue.message} (got ${render(valueAt(raw, issue.path))})`);
  }
  return out;
}

/** Applies `key.path=value` overrides; values are parsed as YAML (numbers, booleans, lists). */
export function applyOverrides(raw: Record<string, unknown>, sets: string[]): Record<string, unknown> {
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
  }
  return raw;
}

/** Config keys of the data layer's option names (argument errors carry the option as `param`). */
const DATA_KEYS: Record<string, string> = {
  symbol: 'data.symbol',
  interval: 'data.interval',
  startDate: 'data.start_date',
  endDate: 'data.end_date',
  market: 'data.market',
  baseUrl: 'data.base_url',
  concurrency: 'data.concurrency',
};

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
    return `${DATA_KEYS[err.param] ?? 'data'}: expected ${err.expected} but received ${err.received}`;
  }
}

/** Parses and validates a raw config object; throws ConfigError listing every problem. */
export function validateConfig(raw: unknown, source: string): PipelineConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const problems = problemsOf(result.error, raw);
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
    try {
      raw = parseYaml(readFileSync(file, 'utf8')) ?? {};
    } catch (err) {
      throw new ConfigError(file, [`not valid YAML: ${(err as Error).message.split('\n')[0]}`]);
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(file, [`(root): expected a mapping of sections (got ${render(raw)})`]);
  }
  applyOverrides(raw as Record<string, unknown>, options.sets ?? []);
  const config = validateConfig(raw, file ?? 'built-in defaults');
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
