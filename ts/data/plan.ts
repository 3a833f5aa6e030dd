// Which archives a date range needs. Whole finished months come from monthly archives (with
// their days as the fallback when the monthly one is not published yet); partial months and the
// month in progress come from daily archives. Today's daily never exists yet and future days are
// never asked for. 3d / 1w / 1mo have no daily archives: finished months only.
import { archiveRef, hasDailyArchives, type ArchiveRef, type Interval, type Market } from './binance.js';
import { DAY_MS, formatDay, formatMonth, nextMonthStart, startOfDay, startOfMonth, type DateRange } from './dates.js';

export interface MonthUnit {
  kind: 'month';
  archive: ArchiveRef;
  start: number;
  end: number;
  /** The month's daily archives, tried when the monthly one is missing (empty: none exist). */
  days: DayUnit[];
}

export interface DayUnit {
  kind: 'day';
  archive: ArchiveRef;
  start: number;
  end: number;
}

export type PlanUnit = MonthUnit | DayUnit;

export interface ArchivePlan {
  units: PlanUnit[];
  /** The requested span; candles outside it are dropped (monthly-only intervals overhang it). */
  range: DateRange;
  /** 00:00 UTC today, by the caller's clock. */
  today: number;
  /** Periods left out because they are today, in the future or a month still in progress. */
  notRequested: string[];
}

export interface PlanRequest {
  market: Market;
  symbol: string;
  interval: Interval;
  range: DateRange;
  now: number;
}

function dayUnit(req: PlanRequest, start: number): DayUnit {
  return { kind: 'day', archive: archiveRef(req.market, req.symbol, req.interval, 'daily', formatDay(start)), start, end: start + DAY_MS };
}

function days(req: PlanRequest, from: number, to: number): DayUnit[] {
  const out: DayUnit[] = [];
  for (let d = from; d < to; d += DAY_MS) out.push(dayUnit(req, d));
  return out;
}

export function planArchives(req: PlanRequest): ArchivePlan {
  const { range } = req;
  const today = startOfDay(req.now);
  const daily = hasDailyArchives(req.interval);
  const units: PlanUnit[] = [];
  const notRequested: string[] = [];

  for (let month = startOfMonth(range.start); month < range.end; month = nextMonthStart(month)) {
    const monthEnd = nextMonthStart(month);
    const from = Math.max(range.start, month);
    const to = Math.min(range.end, monthEnd);
    const finished = monthEnd <= today;
    if (finished && (!daily || (from === month && to === monthEnd))) {
      const archive = archiveRef(req.market, req.symbol, req.interval, 'monthly', formatMonth(month));
      units.push({ kind: 'month', archive, start: month, end: monthEnd, days: daily ? days(req, month, monthEnd) : [] });
    } else if (daily) {
      const until = Math.min(to, today);
      units.push(...days(req, from, until));
      if (until < to) notRequested.push(`${formatDay(Math.max(from, until))}..${formatDay(to - DAY_MS)}`);
    } else {
      notRequested.push(formatMonth(month));
    }
  }
  return { units, range, today, notRequested };
}
