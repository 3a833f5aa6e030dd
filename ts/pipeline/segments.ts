// What a build covers, cut into the units it streams: per symbol, runs of consecutive months
// (all the range's months for a listed symbol; the months it is a member for a universe), each
// with the month before (history for the first windows) and the month after (what the last
// windows and their labels look at), when those lie in the build's range.
import { formatDay, formatMonth, nextMonthStart, startOfMonth, DAY_MS, type DateRange } from '../data/dates.js';

/** One month of the range (clipped to it), as downloadCryptoData takes it. */
export interface MonthSpan {
  /** 'YYYY-MM' */
  month: string;
  start: number;
  end: number;
  startDate: string;
  endDate: string;
}

export interface Segment {
  symbol: string;
  /** The symbol's position in the dataset's `symbols` list. */
  symbolIndex: number;
  /** Consecutive months whose windows this segment draws (a window belongs to its first candle's month). */
  months: MonthSpan[];
  /** The month before the first, in the range: its last candles are the first windows' history. */
  history: MonthSpan | null;
  /** The month after the last, in the range: the last windows may reach into it, and so may their labels. */
  lookahead: MonthSpan | null;
  /**
   * A shard's piece of a longer run (ts/pipeline/shards.ts): the run's months before the piece,
   * in order. They give the first windows' history when `history` is short of candles and, with a
   * stride > 1, where the run's stride grid falls (it counts candles from the run's first one).
   */
  earlier?: MonthSpan[];
  /** A shard's piece: the months after `lookahead`, read when its head is shorter than the last windows and their labels need. */
  later?: MonthSpan[];
}

/** The months of a range, each clipped to it. */
export function monthSpans(range: DateRange): MonthSpan[] {
  const spans: MonthSpan[] = [];
  for (let m = startOfMonth(range.start); m < range.end; m = nextMonthStart(m)) {
    const start = Math.max(m, range.start);
    const end = Math.min(nextMonthStart(m), range.end);
    const whole = start === m && end === nextMonthStart(m);
    spans.push({ month: formatMonth(m), start, end, startDate: whole ? formatMonth(m) : formatDay(start), endDate: whole ? formatMonth(m) : formatDay(end - DAY_MS) });
  }
  return spans;
}

/**
 * The segments of a build: symbols in order, each symbol's runs of member months in time order.
 * `members` maps a symbol to the months it is in the dataset for; absent, every month.
 */
export function planSegments(symbols: readonly string[], range: DateRange, members?: ReadonlyMap<string, ReadonlySet<string>>): Segment[] {
  const spans = monthSpans(range);
  const segments: Segment[] = [];
  symbols.forEach((symbol, symbolIndex) => {
    const isMember = (i: number) => !members || (members.get(symbol)?.has(spans[i].month) ?? false);
    for (let i = 0; i < spans.length; ) {
      if (!isMember(i)) {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < spans.length && isMember(j + 1)) j++;
      segments.push({ symbol, symbolIndex, months: spans.slice(i, j + 1), history: i > 0 ? spans[i - 1] : null, lookahead: j + 1 < spans.length ? spans[j + 1] : null });
      i = j + 1;
    }
  });
  return segments;
}
