// ohlc-native inspect FILE: what a dataset holds, and a sample image as PNG on request.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { STORAGE_FORMATS } from '../../storage/formats.js';
import type { StorageFormat } from '../../storage/formats.js';
import { ErrorCode, OhlcError } from '../../errors.js';
import { checkOutputFile, writeFileAtomic } from '../../util/files.js';
import { runCommand } from '../run.js';

interface InspectOptions {
  format?: StorageFormat;
  png?: string;
  index: number;
  json?: boolean;
}

interface SymbolRow {
  symbol: string;
  first: number;
  count: number;
  first_time: number | null;
  last_time: number | null;
}

/** Each symbol's images: count, where they start, and the span of their window times. */
function perSymbol(rows: SymbolRow[]): Record<string, string> {
  const day = (t: number | null) => (t === null ? '-' : new Date(t).toISOString().slice(0, 16).replace('T', ' '));
  return Object.fromEntries(rows.map((r) => [r.symbol, `${r.count} images from #${r.first}, ${day(r.first_time)} .. ${day(r.last_time)}`]));
}

/** Commander parser for a flag taking an image index: a usage error (exit 2) naming the flag otherwise. */
function imageIndex(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError(`expected an image number (0, 1, 2, ...), got ${JSON.stringify(value)}`);
  return Number(value);
}

export function registerInspect(program: Command): void {
  program
    .command('inspect <file>')
    .description('show the shape and metadata of a dataset (any format, a batch set by its first file or stem)')
    .addOption(new Option('-f, --format <format>', 'the format, when the name does not say it (default: detected)').choices(STORAGE_FORMATS))
    .option('--png <out.png>', 'also write one image as an 8-bit PNG (white 255, black 0)')
    .option('-i, --index <n>', 'which image --png writes', imageIndex, 0)
    .option('--json', 'print JSON (an {"error": ...} object on failure)')
    .action((file: string, opts: InspectOptions) =>
      runCommand(async () => {
        const { loadImagesFromStorage } = await import('../../storage/load.js');
        const head = await loadImagesFromStorage(file, opts.format, { indices: [], terms: { format: '--format' } });
        const m = head.metadata;
        const info = {
          files: head.files,
          format: head.format,
          images: head.total,
          shape: [head.total, Number(m.height), Number(m.width)],
          dtype: m.dtype,
          symbol: m.symbol,
          interval: m.interval,
          seq_len: m.seq_len,
          stride: m.stride,
          horizons: m.horizons,
          synthetic: m.synthetic ?? false,
          created_at: m.created_at,
          generator: m.generator,
          skipped: m.skipped,
          sources: Array.isArray(m.sources) ? m.sources.length : 0,
          ...(Array.isArray(m.symbol_table) ? { symbols: perSymbol(m.symbol_table as SymbolRow[]) } : {}),
          metadata: m,
        };
        if (opts.png) {
          const { PNG } = await import('pngjs');
          const index = opts.index;
          if (index >= head.total) throw new OhlcError(ErrorCode.invalidArgument, `--index ${index} is past the last image (the dataset holds ${head.total})`);
          await checkOutputFile(opts.png, '--png');
          const one = await loadImagesFromStorage(file, head.format, { indices: [index] });
          const [, h, w] = one.shape;
          const png = new PNG({ width: w, height: h, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
          const gray = Buffer.alloc(h * w);
          for (let p = 0; p < h * w; p++) gray[p] = one.images[p] >= 0.5 ? 255 : 0;
          png.data = gray;
          await writeFileAtomic(opts.png, PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false }));
          Object.assign(info, { png: opts.png, pngIndex: index, pngTimestamp: new Date(one.timestamps[0]).toISOString() });
        }
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(info)}\n`);
          return;
        }
        const { metadata, ...rest } = info;
        void metadata;
        for (const [k, v] of Object.entries(rest)) process.stdout.write(`${k.padEnd(11)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`);
      }, { json: opts.json }),
    );
}
