// The pipeline configuration (config/config.yaml): the original design's keys, same names and
// meaning, plus the settings this implementation adds. Validated with zod: every unknown key,
// wrong type or out-of-range value is reported with its dotted key and the value received.
import { z } from 'zod';
import { INTERVALS, MARKETS } from '../data/binance.js';
import { STORAGE_FORMATS } from '../storage/formats.js';

const DATE = /^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$/;
const dateString = z.string().regex(DATE, 'must be a date "YYYY-MM" or "YYYY-MM-DD"');

const positiveInt = (max = Number.MAX_SAFE_INTEGER) => z.number().int().min(1).max(max);

export const configSchema = z
  .strictObject({
    data: z
      .strictObject({
        symbol: z.string().regex(/^[A-Z0-9]{2,32}(?:_[A-Z0-9]{1,16})?$/, 'must be a Binance symbol such as BTCUSDT or BTCUSD_PERP (upper case)').default('BTCUSDT'),
        interval: z.enum(INTERVALS).default('1m'),
        start_date: dateString.default('2020-01'),
        end_date: dateString.default('2024-01'),
        market: z.enum(MARKETS).default('spot'),
        base_url: z.url({ protocol: /^https?$/ }).default('https://data.binance.vision/'),
        source: z.enum(['binance', 'sample']).default('binance'),
        verify: z.boolean().default(true),
        concurrency: positiveInt(32).default(4),
      })
      .prefault({}),
    image: z
      .strictObject({
        seq_len: positiveInt(1 << 16).default(100),
        resolution: z.strictObject({ height: z.number().int().min(2).max(1 << 16).default(500) }).prefault({}),
        storage: z
          .strictObject({
            format: z.enum(STORAGE_FORMATS).default('hdf5'),
            mode: z.enum(['single', 'batch']).default('single'),
            images_per_file: positiveInt().default(50_000),
            compression: z.union([z.enum(['fast', 'none']), z.number().int().min(1).max(12)]).default('fast'),
            quality: positiveInt(100).default(95),
          })
          .prefault({}),
        stride: positiveInt().default(1),
        dtype: z.enum(['uint8', 'float32']).default('uint8'),
        skip_gaps: z.boolean().default(true),
        batch_size: positiveInt(1 << 20).default(1024),
      })
      .prefault({}),
    labels: z.strictObject({ horizons: z.array(positiveInt(1_000_000)).default([]) }).prefault({}),
    paths: z
      .strictObject({
        raw_data: z.string().min(1).default('data/raw'),
        processed_data: z.string().min(1).default('data/processed'),
        models: z.string().min(1).default('models'),
        logs: z.string().min(1).default('logs'),
      })
      .prefault({}),
    runtime: z
      .strictObject({
        device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
        threads: z.number().int().min(0).max(4096).default(0),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    const problem = dateOrderProblem(c.data.start_date, c.data.end_date);
    if (problem) ctx.addIssue({ code: 'custom', path: ['data', 'end_date'], message: problem, input: c.data.end_date });
  });

/** "must not be before ..." when the range is empty (a YYYY-MM end runs to the month's end). */
export function dateOrderProblem(start: unknown, end: unknown): string | null {
  if (typeof start !== 'string' || typeof end !== 'string' || !DATE.test(start) || !DATE.test(end)) return null;
  const day = (d: string, last: boolean) => (d.length === 7 ? `${d}${last ? '-31' : '-01'}` : d);
  return day(end, true) < day(start, false) ? `must not be before data.start_date (${start})` : null;
}

export type PipelineConfig = z.output<typeof configSchema>;
