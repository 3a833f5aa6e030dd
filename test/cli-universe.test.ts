// ohlc-native universe: the resolved universe of a config, offline on the synthetic market. The
// ranking itself is checked against archives in data-universe.test.ts; here the command: what it
// prints, that it is what a build then draws, and its errors.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadImagesFromStorage } from '../ts/index.js';
import { runCli } from './helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'ohlc-cli-universe-'));
after(() => rmSync(root, { recursive: true, force: true }));

writeFileSync(
  join(root, 'u.yaml'),
  `data: { universe: { quote: USDT, top: 3, exclude: ["SOL*"] }, interval: 1h, start_date: "2024-01", end_date: "2024-03", source: sample }
image: { seq_len: 8, resolution: { height: 16 } }
paths: { raw_data: raw, processed_data: out, logs: logs }
`,
);

interface Resolved {
  symbols: string[];
  months: Array<{ month: string; members: Array<{ symbol: string; quoteVolume: number }> }>;
  excluded: Array<{ symbol: string; reason: string }>;
}

describe('ohlc-native universe', () => {
  it('prints each month\'s members in rank order, the exclusions, and a build draws exactly those', async () => {
    const r = runCli(['universe', '--config', 'u.yaml', '--json', '--quiet'], root);
    assert.equal(r.status, 0, r.stderr);
    const u = JSON.parse(r.stdout) as Resolved;
    assert.deepEqual(u.months.map((m) => m.month), ['2024-01', '2024-02', '2024-03']);
    for (const m of u.months) {
      assert.equal(m.members.length, 3);
      const volumes = m.members.map((x) => x.quoteVolume);
      assert.deepEqual(volumes, [...volumes].sort((a, b) => b - a), `${m.month} in rank order`);
      assert.ok(m.members.every((x) => !x.symbol.startsWith('SOL')), 'exclude patterns apply');
    }
    assert.ok(u.excluded.some((e) => e.symbol.startsWith('SOL') && e.reason === 'excluded'));
    assert.ok(u.excluded.some((e) => e.reason === 'stablecoin pair'));
    assert.deepEqual(u.symbols, [...new Set(u.months.flatMap((m) => m.members.map((x) => x.symbol)))].sort());

    const human = runCli(['universe', '--config', 'u.yaml', '--quiet'], root);
    assert.equal(human.status, 0, human.stderr);
    for (const m of u.months) assert.match(human.stdout, new RegExp(`^${m.month}  3 members: ${m.members[0].symbol} \\(`, 'm'));

    const b = runCli(['build', '--config', 'u.yaml', '--json', '--quiet'], root);
    assert.equal(b.status, 0, b.stderr);
    const ds = await loadImagesFromStorage((JSON.parse(b.stdout) as { outputs: string[] }).outputs[0], { indices: [], images: false });
    assert.deepEqual(ds.metadata.symbols, u.symbols);
    const months = (ds.metadata.universe as { months: Array<{ month: string; members: string[] }> }).months;
    assert.deepEqual(months, u.months.map((m) => ({ month: m.month, members: m.members.map((x) => x.symbol) })));
  });

  it('refuses a config without data.universe, naming the key (exit 2)', () => {
    writeFileSync(join(root, 'one.yaml'), 'data: { symbol: BTCUSDT, source: sample }\npaths: { raw_data: raw, logs: logs }\n');
    const r = runCli(['universe', '--config', 'one.yaml'], root);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /needs data\.universe in the config/);
  });
});
