// The pipeline configuration (config/config.yaml): the original design's keys, same names and
// meaning, plus the settings this implementation adds. Validated with zod: every unknown key,
// wrong type or out-of-range value is reported with its dotted key and the value received. Limits
// come from ts/limits.ts, and data values are judged by the data layer's own checks.
import { z } from 'zod';
import { checkBaseUrl, checkListingUrl, checkSymbol, INTERVALS, MARKETS } from '../data/binance.js';
import { parseDateArg } from '../data/dates.js';
import { DEFAULT_BASE_URL } from '../data/options.js';
import { DEFAULT_LISTING_URL } from '../data/listing.js';
import {
  DATE_PATTERN,
  MAX_BATCH_SIZE,
  MAX_CONCURRENCY,
  MAX_DEFLATE_LEVEL,
  MAX_DIMENSION,
  MAX_HORIZON,
  MAX_LOOKBACK_DAYS,
  MAX_UNIVERSE_TOP,
  MAX_MA,
  MAX_QUALITY,
  MAX_SAFE_INTEGER,
  MAX_SYMBOLS,
  MAX_THREADS,
  MIN_DEFLATE_LEVEL,
  MIN_HEIGHT,
  MIN_SEQ_LEN,
  MAX_ZARR_SHARD_IMAGES,
  DEFAULT_ZARR_SHARD_IMAGES,
} from '../limits.js';
import { checkLayout, JKX_HEIGHTS, LAYOUTS } from '../images/layout.js';
import { checkImageSize, STORAGE_FORMATS } from '../storage/formats.js';
import { issueOf, validatedBy } from './checks.js';

const dateString = (key: string) =>
  z
    .string()
    // abort: a value not even of the form is said once, not again by the date check or an order check.
    .regex(DATE_PATTERN, { message: 'must be a date "YYYY-MM" or "YYYY-MM-DD"', abort: true })
    .superRefine(validatedBy((v: string) => parseDateArg(key, v)));

/** The symbol of a config that names none. */
export const DEFAULT_SYMBOL = 'BTCUSDT';

/**
 * A whole number in [min, max]; a value outside is said once: the image checks below (the
 * layout's, the format's) do not run on it and say it again.
 */
const whole = (min: number, max: number) => z.number().int({ abort: true }).min(min, { abort: true }).max(max, { abort: true });

const positiveInt = (max = Number.MAX_SAFE_INTEGER) => z.number().int().min(1).max(max);

// A NUL ends a path for the operating system: such a value would name another file than it shows.
const pathString = z.string().min(1).refine((p) => !p.includes('\0'), 'must be a path without a NUL character');

export const configSchema = z
  .strictObject({
    data: z
      .strictObject({
        // One symbol, a list, or a universe resolved from the archive itself (at most one of them).
        symbol: z.string().optional(),
        symbols: z.array(z.string()).min(1).max(MAX_SYMBOLS).optional(),
        universe: z
          .strictObject({
            quote: z.string().regex(/^[A-Z0-9]{2,12}$/, 'must be a quote asset such as USDT (upper case)').default('USDT'),
            exclude: z.array(z.string().regex(/^[A-Z0-9*]+(?:_[A-Z0-9*]+)?$/, 'must be a symbol or a pattern with * (e.g. *UP)')).default([]),
            default_exclusions: z.boolean().default(true),
            include_delisted: z.boolean().default(true),
            top: positiveInt(MAX_UNIVERSE_TOP).optional(),
            rank_by: z.enum(['quote_volume']).default('quote_volume'),
            lookback_days: positiveInt(MAX_LOOKBACK_DAYS).default(30),
            rebalance: z.enum(['monthly']).default('monthly'),
          })
          .optional(),
        on_symbol_error: z.enum(['fail', 'skip']).default('fail'),
        listing_url: z.string().superRefine(validatedBy(checkListingUrl)).default(DEFAULT_LISTING_URL),
        // 0: list the bucket again on every run.
        listing_max_age_hours: z.number().min(0).max(24 * 3650).default(24),
        interval: z.enum(INTERVALS).default('1m'),
        start_date: dateString('start_date').default('2020-01'),
        end_date: dateString('end_date').default('2024-01'),
        market: z.enum(MARKETS).default('spot'),
        base_url: z.string().superRefine(validatedBy(checkBaseUrl)).default(DEFAULT_BASE_URL),
        source: z.enum(['binance', 'sample']).default('binance'),
        verify: z.boolean().default(true),
        concurrency: positiveInt(MAX_CONCURRENCY).default(4),
        on_malformed_row: z.enum(['fail', 'skip']).default('fail'),
      })
      .superRefine((d, ctx) => {
        const given = (['symbol', 'symbols', 'universe'] as const).filter((k) => d[k] !== undefined);
        if (given.length > 1) ctx.addIssue({ code: 'custom', path: [given[1]], message: `give one of data.symbol, data.symbols and data.universe, not ${given.map((k) => `data.${k}`).join(' and ')}`, input: d[given[1]] });
        // A symbol's form depends on the market (suffixes are futures only).
        if (d.symbol !== undefined) {
          const issue = issueOf(() => checkSymbol(d.symbol, d.market), d.symbol, ['symbol']);
          if (issue) ctx.addIssue(issue);
        }
        const seen = new Set<string>();
        (d.symbols ?? []).forEach((symbol, i) => {
          const issue = issueOf(() => checkSymbol(symbol, d.market), symbol, ['symbols', i]);
          if (issue) ctx.addIssue(issue);
          if (seen.has(symbol)) ctx.addIssue({ code: 'custom', path: ['symbols', i], message: `${symbol} is listed twice`, input: symbol });
          seen.add(symbol);
        });
      })
      .transform((d) => ({ ...d, symbol: d.symbol ?? (d.symbols || d.universe ? undefined : DEFAULT_SYMBOL) }))
      .prefault({}),
    image: z
      .strictObject({
        seq_len: whole(MIN_SEQ_LEN, MAX_DIMENSION).default(100),
        // Default 500 rows; for the jkx layout the authors' heights (32, 64, 96 for 5, 20, 60 bars).
        resolution: z.strictObject({ height: whole(MIN_HEIGHT, MAX_DIMENSION).optional() }).prefault({}),
        layout: z.enum(LAYOUTS).default('ohlc-4px'),
        // jkx only: the volume strip (default true) and the moving-average length (default seq_len; 0 for none).
        volume: z.boolean().optional(),
        ma: whole(0, MAX_MA).optional(),
        storage: z
          .strictObject({
            format: z.enum(STORAGE_FORMATS).default('hdf5'),
            mode: z.enum(['single', 'batch']).default('single'),
            images_per_file: positiveInt().default(50_000),
            compression: z.union([z.enum(['fast', 'none']), z.number().int().min(MIN_DEFLATE_LEVEL).max(MAX_DEFLATE_LEVEL)]).default('fast'),
            quality: positiveInt(MAX_QUALITY).default(95),
            // Zarr: format 3 gathers images into shard files; 2 writes a file per image, for zarr-python 2.
            zarr_format: z.union([z.literal(2), z.literal(3)], { error: 'must be 2 or 3 (the Zarr format version)' }).default(3),
            zarr_shard_images: positiveInt(MAX_ZARR_SHARD_IMAGES).default(DEFAULT_ZARR_SHARD_IMAGES),
            overwrite: z.boolean().default(false),
            // With splits: one dataset per split (<name>_train, _val, _test) instead of a split array.
            split_files: z.boolean().default(false),
          })
          .prefault({}),
        stride: positiveInt().default(1),
        dtype: z.enum(['uint8', 'float32']).default('uint8'),
        skip_gaps: z.boolean().default(true),
        batch_size: positiveInt(MAX_BATCH_SIZE).default(1024),
      })
      .superRefine((image, ctx) => {
        const height = imageHeight(image);
        if (height === undefined) {
          // A seq_len jkx cannot draw at all is the problem, not the height it has no default for.
          const seqIssue = issueOfLayout(image, MAX_DIMENSION);
          if (seqIssue) return ctx.addIssue(seqIssue);
          ctx.addIssue({
            code: 'custom',
            path: ['resolution', 'height'],
            message: `is needed with image.layout jkx and seq_len ${image.seq_len} (the authors' heights are known for seq_len ${Object.keys(JKX_HEIGHTS).join(', ')} only)`,
            input: undefined,
          });
          return;
        }
        // The layout's own rule, in the config's words.
        const layoutIssue = issueOfLayout(image, height);
        if (layoutIssue) return ctx.addIssue(layoutIssue);
        // What the format can hold, by the storage layer's own rule.
        const tooWide = issueOf(() => checkImageSize(image.storage.format, image.seq_len, 2, image.dtype, image.layout), image.seq_len, ['seq_len']);
        const tooTall = tooWide ?? issueOf(() => checkImageSize(image.storage.format, image.seq_len, height, image.dtype, image.layout), height, ['resolution', 'height']);
        if (tooTall) ctx.addIssue(tooTall);
      })
      .transform((image) => {
        const layout = checkLayout(image, image.seq_len, imageHeight(image)!, LAYOUT_KEYS);
        return { ...image, resolution: { height: imageHeight(image)! }, volume: layout.volume, ma: layout.ma };
      })
      .prefault({}),
    labels: z.strictObject({ horizons: z.array(positiveInt(MAX_HORIZON)).default([]) }).prefault({}),
    // Off unless given: leakage-safe train/validation/test splits (ts/pipeline/splits.ts).
    splits: z
      .strictObject({
        method: z.enum(['chronological', 'blocks']),
        train_end: dateString('splits.train_end').optional(),
        val_end: dateString('splits.val_end').optional(),
        fractions: z.tuple([z.number().min(0), z.number().min(0), z.number().min(0)]).optional(),
        block: z.string().regex(/^[1-9]\d*[mhdw]$/, 'must be a block length such as 1d, 12h, 30m or 1w').default('1d'),
        val_fraction: z.number().min(0).max(1).default(0.3),
        seed: z.number().int().min(0).max(MAX_SAFE_INTEGER).default(0),
        in_sample_end: dateString('splits.in_sample_end').optional(),
        embargo: z.number().int().min(0).max(MAX_DIMENSION).optional(),
      })
      .superRefine((sp, ctx) => {
        const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message, input: (sp as Record<string, unknown>)[path] });
        if (sp.method === 'chronological') {
          const dates = sp.train_end !== undefined || sp.val_end !== undefined;
          if (dates === (sp.fractions !== undefined)) issue('method', 'chronological splits need train_end and val_end, or fractions (one of the two)');
          if (dates && (sp.train_end === undefined || sp.val_end === undefined)) issue(sp.train_end === undefined ? 'train_end' : 'val_end', 'is needed with the other boundary');
          if (sp.train_end && sp.val_end && boundaryEnd(sp.val_end) < boundaryEnd(sp.train_end)) issue('val_end', `must not be before splits.train_end (${sp.train_end})`);
          if (sp.fractions && Math.abs(sp.fractions.reduce((a, b) => a + b, 0) - 1) > 1e-9) issue('fractions', 'must add up to 1');
          if (sp.in_sample_end !== undefined) issue('in_sample_end', 'applies to splits.method blocks; chronological splits end at splits.val_end');
        } else {
          if (sp.in_sample_end === undefined) issue('in_sample_end', 'is needed for block splits (test comes after it)');
          // Keys of the other method would be ignored without a word.
          for (const key of ['train_end', 'val_end', 'fractions'] as const) if (sp[key] !== undefined) issue(key, 'applies to splits.method chronological; block splits take block, val_fraction, seed and in_sample_end');
        }
      })
      .optional(),
    paths: z
      .strictObject({
        raw_data: pathString.default('data/raw'),
        processed_data: pathString.default('data/processed'),
        models: pathString.default('models'),
        logs: pathString.default('logs'),
      })
      .prefault({}),
    runtime: z
      .strictObject({
        device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
        threads: z.number().int().min(0).max(MAX_THREADS).default(0),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.image.storage.split_files && !c.splits) ctx.addIssue({ code: 'custom', path: ['image', 'storage', 'split_files'], message: 'needs splits: (one dataset per split of a splits rule); without one there is nothing to split', input: true });
    const problem = dateOrderProblem(c.data.start_date, c.data.end_date);
    if (problem) ctx.addIssue({ code: 'custom', path: ['data', 'end_date'], message: problem, input: c.data.end_date });
  });

type ImageInput = { seq_len: number; layout: (typeof LAYOUTS)[number]; resolution: { height?: number }; volume?: boolean; ma?: number };

/** The image height: given, else the layout's default (undefined where jkx has none for seq_len). */
function imageHeight(image: ImageInput): number | undefined {
  if (image.resolution.height !== undefined) return image.resolution.height;
  return image.layout === 'jkx' ? JKX_HEIGHTS[image.seq_len] : 500;
}

/** The config keys of the layout's options (relative paths below `image`, and as the user writes them). */
const LAYOUT_KEYS = { layout: 'image.layout', volume: 'image.volume', ma: 'image.ma', seqLen: 'image.seq_len', height: 'image.resolution.height' };
const LAYOUT_PATHS: Record<string, PropertyKey[]> = { 'image.layout': ['layout'], 'image.volume': ['volume'], 'image.ma': ['ma'], 'image.seq_len': ['seq_len'], 'image.resolution.height': ['resolution', 'height'] };

function issueOfLayout(image: ImageInput, height: number) {
  try {
    checkLayout(image, image.seq_len, height, LAYOUT_KEYS);
    return null;
  } catch (err) {
    const param = (err as { param?: string }).param ?? 'image.layout';
    const path = LAYOUT_PATHS[param] ?? ['layout'];
    const value = param === 'image.resolution.height' ? height : (image as Record<string, unknown>)[path[0] as string];
    return issueOf(() => {
      throw err;
    }, value, path);
  }
}

/**
 * The instant an inclusive boundary date ends at (a YYYY-MM runs to its month's end), the way
 * the splits read it: 2024-01 is after 2024-01-15, though it sorts before it as text.
 */
function boundaryEnd(date: string): number {
  try {
    return parseDateArg('boundary', date).end;
  } catch {
    return NaN; // said on the date itself; no order to compare
  }
}

/** "must not be before ..." when the range is empty (a YYYY-MM end runs to the month's end). */
export function dateOrderProblem(start: unknown, end: unknown): string | null {
  let from: number;
  let to: number;
  try {
    from = parseDateArg('start_date', start).start;
    to = parseDateArg('end_date', end).end;
  } catch {
    return null; // reported on the date itself
  }
  return to <= from ? `must not be before data.start_date (${String(start)})` : null;
}

export type PipelineConfig = z.output<typeof configSchema>;
