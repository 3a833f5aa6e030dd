// ohlc-native inspect FILE: what a dataset holds, and a sample image as PNG on request.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { StorageFormat } from '../../storage/formats.js';
import { runCommand } from '../run.js';

interface InspectOptions {
  format?: StorageFormat;
  png?: string;
  index: string;
  json?: boolean;
}

export function registerInspect(program: Command): void {
  program
    .command('inspect <file>')
    .description('show the shape and metadata of a dataset (any format, a batch set by its first file or stem)')
    .option('-f, --format <format>', 'hdf5 | npz | zarr | jpeg | png (default: detected)')
    .option('--png <out.png>', 'also write one image as an 8-bit PNG (white 255, black 0)')
    .option('-i, --index <n>', 'which image --png writes', '0')
    .option('--json', 'print JSON')
    .action((file: string, opts: InspectOptions) =>
      runCommand(async () => {
        const { loadImagesFromStorage } = await import('../../storage/load.js');
        const head = await loadImagesFromStorage(file, opts.format, { indices: [] });
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
          metadata: m,
        };
        if (opts.png) {
          const { PNG } = await import('pngjs');
          const index = Number(opts.index);
          const one = await loadImagesFromStorage(file, head.format, { indices: [index] });
          const [, h, w] = one.shape;
          const png = new PNG({ width: w, height: h, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
          const gray = Buffer.alloc(h * w);
          for (let p = 0; p < h * w; p++) gray[p] = one.images[p] >= 0.5 ? 255 : 0;
          png.data = gray;
          await writeFile(opts.png, PNG.sync.write(png, { colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false }));
          Object.assign(info, { png: opts.png, pngIndex: index, pngTimestamp: new Date(one.timestamps[0]).toISOString() });
        }
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(info)}\n`);
          return;
        }
        const { metadata, ...rest } = info;
        void metadata;
        for (const [k, v] of Object.entries(rest)) process.stdout.write(`${k.padEnd(11)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}\n`);
      }),
    );
}
