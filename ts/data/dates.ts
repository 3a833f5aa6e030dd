// UTC calendar arithmetic for archive periods. Every instant is a number of ms since the epoch;
// days and months start at 00:00 UTC, as Binance's archives do.
import { invalidParameterError } from '../errors.js';
import { DATE_PATTERN, MAX_YEAR, MIN_YEAR } from '../limits.js';

export const DAY_MS = 86_400_000;


export interface DateRange {
  /** First day's 00:00 UTC. */
  start: number;
  /** 00:00 UTC of the day after the last day (exclusive). */
  end: number;
}

export function monthStart(year: number, month0: number): number {
  return Date.UTC(year, month0, 1);
}

/** 00:00 UTC of the month after the one holding `ms`. */
export function nextMonthStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export function startOfMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function startOfDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** Whole calendar months from the month of `a` to the month of `b`. */
export function monthsBetween(a: number, b: number): number {
  const da = new Date(a);
  const db = new Date(b);
  return (db.getUTCFullYear() - da.getUTCFullYear()) * 12 + (db.getUTCMonth() - da.getUTCMonth());
}

/** 'YYYY-MM' */
export function formatMonth(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** 'YYYY-MM-DD' */
export function formatDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * Reads 'YYYY-MM' (a whole month) or 'YYYY-MM-DD' (one day) as the span it covers. Rejects
 * dates that do not exist (2021-02-30) and years outside 2000..2999.
 */
export function parseDateArg(name: string, value: unknown): DateRange {
  const expected = "a UTC date 'YYYY-MM' or 'YYYY-MM-DD'";
  if (typeof value !== 'string') throw invalidParameterError(name, expected, value);
  const m = DATE_PATTERN.exec(value);
  if (!m) throw invalidParameterError(name, expected, value, true);
  const year = Number(m[1]);
  const month0 = Number(m[2]) - 1;
  if (year < MIN_YEAR || year > MAX_YEAR) throw invalidParameterError(name, `${expected} (year ${MIN_YEAR} to ${MAX_YEAR})`, value, true);
  if (m[3] === undefined) return { start: monthStart(year, month0), end: monthStart(year, month0 + 1) };
  const day = Number(m[3]);
  const start = Date.UTC(year, month0, day);
  if (day < 1 || new Date(start).getUTCMonth() !== month0) throw invalidParameterError(name, `${expected} (an existing day)`, value, true);
  return { start, end: start + DAY_MS };
}
