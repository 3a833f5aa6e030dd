// What a person sees at a terminal (a real one: tmux), and the words the messages use.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, runCli } from './helpers/cli.js';
import { HAVE_TMUX, onTerminal } from './helpers/tty.js';

const root = mkdtempSync(join(tmpdir(), 'ohlc-terminal-'));
after(() => rmSync(root, { recursive: true, force: true }));

function project(name: string, config: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'config'), { recursive: true });
  writeFileSync(join(dir, 'config', 'config.yaml'), config);
  return dir;
}

const SAMPLE = (days: number) => `data: { symbol: BTCUSDT, interval: 1m, start_date: "2024-01-01", end_date: "2024-01-${String(days).padStart(2, '0')}", source: sample }
image: { seq_len: 100, resolution: { height: 500 } }
labels: { horizons: [1, 5, 15] }
paths: { raw_data: ../data/raw, processed_data: ../data/processed, logs: ../logs }
runtime: { device: cpu }
`;
const node = JSON.stringify(process.execPath);
const cli = `${node} ${JSON.stringify(CLI)}`;
const skip = HAVE_TMUX ? false : 'tmux is not installed';

describe('on a terminal', { skip }, () => {
  it('log lines stay whole above the bars, and the build ends with one summary line', async () => {
    const dir = project('screen', SAMPLE(6));
    const screen = await onTerminal(`${cli} build`, dir, { width: 100 });
    assert.equal(screen.status, 0, screen.rows.join('\n'));
    const bar = /[█░]/;
    for (const line of screen.lines) {
      assert.ok(!(bar.test(line) && /\] (INFO|WARN|DEBUG)/.test(line)), `a log line is glued to a bar: ${line}`);
    }
    const writing = screen.lines.find((l) => l.includes('Writing hdf5'));
    assert.ok(writing?.includes(join(dir, 'data', 'processed', 'BTCUSDT_1m_2024-01-01_2024-01-06_L100_H500_h1-5-15_synthetic')), `whole: ${writing}`);
    const summary = screen.lines.filter((l) => l.startsWith('Wrote '));
    assert.equal(summary.length, 1, screen.lines.join('\n'));
    assert.match(summary[0], /^Wrote 8,541 images to .*_synthetic\.h5 \(\d+(\.\d)? MB\) in \d+\.\d s; log .*pipeline_\d{8}_\d{6}\.log$/);
    const images = screen.lines.find((l) => l.includes(' images ') && bar.test(l));
    assert.match(images ?? '', /100% 8541\/8541 [\d,]+\/s \d+s elapsed, eta 0s/);
  });

  it('colours on a terminal, none with NO_COLOR', async () => {
    const dir = project('colour', SAMPLE(1));
    const coloured = await onTerminal(`${cli} build`, dir, { width: 160 });
    assert.match(coloured.raw, /\x1b\[[0-9;]*m.*INFO/);
    const plain = await onTerminal(`${cli} build`, dir, { width: 160, env: { NO_COLOR: '1' } });
    assert.equal(plain.status, 0);
    const logLines = plain.raw.split('\n').filter((l) => l.includes('INFO'));
    assert.ok(logLines.length > 3);
    for (const l of logLines) assert.doesNotMatch(l, /\x1b\[[0-9;]*m/, 'no colour escapes with NO_COLOR');
  });

  it('asks before a large build, and does nothing when told no', async () => {
    const dir = project('large', SAMPLE(1).replace('end_date: "2024-01-01"', 'end_date: "2024-12"'));
    const screen = await onTerminal(`${cli} build`, dir, { waitFor: /Continue\? \[y\/N\]/, keys: 'n' });
    assert.equal(screen.status, 0);
    assert.match(screen.lines.join('\n'), /This build makes about 52\d,\d{3} images, about [\d.]+ GB, .* Continue\? \[y\/N\] n/);
    assert.match(screen.lines.join('\n'), /not started \(pass --yes to skip this question\)/);
    assert.deepEqual(readdirSync(dir), ['config']);
  });
});

describe('the command line speaks the user’s words', () => {
  it('a closed stdout ends a command quietly with exit 0 (inspect | head -1)', () => {
    const dir = project('epipe', SAMPLE(1));
    assert.equal(runCli(['build', '--quiet'], dir).status, 0);
    const out = join(dir, 'data', 'processed', 'BTCUSDT_1m_2024-01-01_2024-01-01_L100_H500_h1-5-15_synthetic.h5');
    const r = spawnSync('bash', ['-c', `${cli} inspect ${JSON.stringify(out)} | head -1; echo "status \${PIPESTATUS[0]}" >&2`], { encoding: 'utf8' });
    assert.match(r.stdout, /^files/);
    assert.match(r.stderr, /status 0/);
    assert.doesNotMatch(r.stderr, /EPIPE|Error/);
  });

  it('--json failures print an error object on stdout and the human line on stderr', () => {
    const r = runCli(['inspect', join(root, 'missing.h5'), '--json'], root);
    assert.equal(r.status, 1);
    const body = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'ERR_OHLC_NOT_FOUND');
    assert.match(body.error.message, /missing\.h5 does not exist/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /^ohlc-native: .*missing\.h5 does not exist/);
  });

  it('--set mistakes are blamed on --set, with a suggestion; --index and --format are named', () => {
    const dir = project('words', SAMPLE(1));
    const r = runCli(['build', '--set', 'image.seq_lenght=50'], dir);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /image\.seq_lenght: unknown key \(value 50\) \(from --set image\.seq_lenght=50\); did you mean image\.seq_len\?/);
    const typo = project('typo', `${SAMPLE(1)}imag: { seq_len: 5 }\n`);
    assert.match(runCli(['build'], typo).stderr, /imag: unknown key .*; did you mean image\?/);
    const index = runCli(['inspect', 'x.h5', '--index', 'abc'], dir);
    assert.equal(index.status, 2);
    assert.match(index.stderr, /--index <n>' argument 'abc' is invalid\. expected an image number/);
    mkdirSync(join(dir, 'puzzle'));
    writeFileSync(join(dir, 'puzzle', 'x.txt'), '');
    assert.match(runCli(['inspect', 'puzzle'], dir).stderr, /cannot tell the format of .*puzzle .*; pass --format/);
  });

  it('build --help says which config it reads; --verbose shows debug lines', () => {
    const dir = project('help', SAMPLE(1));
    assert.match(runCli(['build', '--help'], dir).stdout.replace(/\s+/g, ' '), new RegExp(`default here: ${join(dir, 'config', 'config.yaml').replace(/[.\\/]/g, '\\$&')}`));
    assert.match(runCli(['build', '--help'], root).stdout.replace(/\s+/g, ' '), /not here, so the built-in defaults/);
    const verbose = runCli(['build', '--verbose', '--force'], dir);
    assert.equal(verbose.status, 0, verbose.stderr);
    assert.match(verbose.stderr, /DEBUG: cache hit/);
    assert.doesNotMatch(runCli(['build', '--force'], dir).stderr, /DEBUG/);
  });

  it('download and sample write their own log, with the command line and the --set overrides', () => {
    const dir = project('logs', SAMPLE(1));
    assert.equal(runCli(['sample', '--quiet', '--set', 'data.end_date=2024-01-02'], dir).status, 0);
    assert.equal(runCli(['download', '--quiet', '--set', 'data.source=sample'], dir).status, 0);
    const logs = readdirSync(join(dir, 'logs'));
    assert.ok(logs.some((n) => /^sample_\d{8}_\d{6}\.log$/.test(n)) && logs.some((n) => /^download_\d{8}_\d{6}\.log$/.test(n)), logs.join(' '));
    const text = logs.map((n) => readFileSyncUtf8(join(dir, 'logs', n))).join('\n');
    assert.match(text, /"sets":\["data\.end_date=2024-01-02"\]/);
    assert.match(text, /"argv":\["sample","--quiet","--set","data\.end_date=2024-01-02"\]/);
    assert.ok(existsSync(join(dir, 'data', 'raw')));
  });
});

function readFileSyncUtf8(p: string): string {
  return spawnSync('cat', [p], { encoding: 'utf8' }).stdout;
}
