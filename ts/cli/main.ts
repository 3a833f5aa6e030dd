#!/usr/bin/env node
// The ohlc-native command line (placeholder until the pipeline lands: `build` draws a demo).
import { Command } from 'commander';
import { buildInfo, rasterize } from '../index.js';

const program = new Command('ohlc-native');
program
  .command('build')
  .option('--config <file>', 'YAML config')
  .action(() => {
    const n = 1000;
    const open = new Float64Array(n), high = new Float64Array(n), low = new Float64Array(n), close = new Float64Array(n);
    let p = 100;
    for (let i = 0; i < n; i++) {
      open[i] = p;
      p *= 1 + Math.sin(i) * 0.01;
      close[i] = p;
      high[i] = Math.max(open[i], close[i]) * 1.002;
      low[i] = Math.min(open[i], close[i]) * 0.998;
    }
    const r = rasterize({ open, high, low, close }, { seqLen: 100, height: 500 });
    console.log(`rasterized ${r.count} images of ${r.height}x${r.width} on ${r.device}`, buildInfo().threads);
  });
await program.parseAsync();
