// Sharded builds: `plan` cuts a build into contiguous (symbol, month) runs; shards built as
// separate processes in parallel (JOB_COMPLETION_INDEX set as Kubernetes sets it), one of them
// killed mid-write and run again, merge into an HDF5 master of virtual datasets that h5py reads
// as exactly the single-machine build, array by array; a re-run skips finished shards; merge
// refuses a missing, incomplete or foreign shard.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { CLI, runCli, runCliAsync } from './helpers/cli.js';
import { findPython, runPython } from './helpers/python.js';
import { parseShardArg } from '../ts/pipeline/shards.js';

const root = mkdtempSync(join(tmpdir(), 'ohlc-shards-'));
after(() => rmSync(root, { recursive: true, force: true }));

// Two symbols, three months of 5-minute candles, stride 2, splits and labels: every edge a shard
// can have (inside a symbol's months, between symbols, across split boundaries and the stride grid).
const CONFIG = `data: { symbols: [BTCUSDT, ETHUSDT], interval: 5m, start_date: "2024-01", end_date: "2024-03", source: sample }
image: { seq_len: 40, resolution: { height: 96 }, stride: 2, batch_size: 512 }
labels: { horizons: [1, 12] }
splits: { method: chronological, fractions: [0.6, 0.2, 0.2] }
paths: { raw_data: ${join(root, 'raw')}, processed_data: out, logs: logs }
runtime: { device: cpu, threads: 1 }
`;
const N = 3;
const STEM = 'BTCUSDT-ETHUSDT_5m_2024-01_2024-03_L40_H96_S2_h1-12_synthetic';
const shardName = (i: number, n = N) => `${STEM}.shard-${String(i).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.h5`;

function dir(name: string): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'config.yaml'), CONFIG);
  return d;
}

/** A shard build as its own process, JOB_COMPLETION_INDEX set; resolves with its exit and stderr. */
function shardProcess(cwd: string, index: number, killOn?: RegExp): Promise<{ status: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'build', '--config', 'config.yaml', '--shard', `auto/${N}`], { cwd, env: { ...process.env, JOB_COMPLETION_INDEX: String(index) } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (killOn && killOn.test(stderr) && child.exitCode === null) child.kill('SIGKILL');
    });
    child.stdout.resume();
    child.on('exit', (status, signal) => resolve({ status, signal, stderr }));
  });
}

describe('shard arguments', () => {
  it('--shard I/N and auto/N (JOB_COMPLETION_INDEX), with errors naming --shard', () => {
    assert.deepEqual(parseShardArg('2/5', {}), { index: 2, count: 5 });
    assert.deepEqual(parseShardArg('auto/5', { JOB_COMPLETION_INDEX: '4' }), { index: 4, count: 5 });
    for (const [arg, env, pattern] of [
      ['auto/5', {}, /JOB_COMPLETION_INDEX.*not set/],
      ['auto/5', { JOB_COMPLETION_INDEX: 'x' }, /not a shard number/],
      ['auto/5', { JOB_COMPLETION_INDEX: '5' }, /numbered 0 to 4/],
      ['5/5', {}, /numbered 0 to 4/],
      ['1/0', {}, /from 1 to/],
      ['one/2', {}, /takes I\/N/],
    ] as const) {
      assert.throws(() => parseShardArg(arg, env), (e: Error & { key?: string }) => pattern.test(e.message) && /--shard/.test(e.message), `${arg} ${JSON.stringify(env)}`);
    }
  });
});

describe('sharded builds', { skip: findPython() === null ? 'no python3 with h5py' : false }, () => {
  const single = dir('single');
  const sharded = dir('sharded');
  let plan: { count: number; expected_images: number; shards: Array<{ index: number; expected_images: number; parts: Array<{ symbol: string; from: string; to: string }> }> };

  before(async () => {
    const r = await runCliAsync(['build', '--config', 'config.yaml', '--quiet'], single);
    assert.equal(r.status, 0, r.stderr);
  });

  it('plan: contiguous (symbol, month) runs covering the build once, in its order, the same every time', () => {
    const r = runCli(['plan', '--config', 'config.yaml', '--shards', String(N), '--json'], sharded);
    assert.equal(r.status, 0, r.stderr);
    plan = JSON.parse(r.stdout);
    assert.deepEqual(JSON.parse(runCli(['plan', '--config', 'config.yaml', '--shards', String(N), '--json'], sharded).stdout).shards, plan.shards);
    assert.equal(plan.shards.length, N);
    const units = plan.shards.flatMap((s) => s.parts.flatMap((p) => {
      const out: string[] = [];
      for (let m = Number(p.from.slice(5)); m <= Number(p.to.slice(5)); m++) out.push(`${p.symbol} 2024-0${m}`);
      return out;
    }));
    assert.deepEqual(units, ['BTCUSDT', 'ETHUSDT'].flatMap((s) => ['2024-01', '2024-02', '2024-03'].map((m) => `${s} ${m}`)));
    // Balanced: no shard holds more than the best contiguous cut must (two months of one symbol here).
    const largest = Math.max(...plan.shards.map((s) => s.expected_images));
    assert.ok(largest <= plan.expected_images / N + plan.expected_images / 6 + 1, `largest shard ${largest} of ${plan.expected_images}`);
    const tooMany = runCli(['plan', '--config', 'config.yaml', '--shards', '7'], sharded);
    assert.equal(tooMany.status, 2);
    assert.match(tooMany.stderr, /--shards 7: the build has only 6 \(symbol, month\) units/);
  });

  it('shards in parallel processes, one killed mid-write and run again, merge into exactly the single build', async () => {
    const out = join(sharded, 'out');
    // Shard 1 is killed (SIGKILL) once it has started writing; 0 and 2 run beside it.
    const first = await Promise.all([shardProcess(sharded, 0), shardProcess(sharded, 1, /Writing hdf5/), shardProcess(sharded, 2)]);
    assert.equal(first[0].status, 0, first[0].stderr);
    assert.equal(first[2].status, 0, first[2].stderr);
    assert.equal(first[1].signal, 'SIGKILL');
    const left = readdirSync(out);
    assert.ok(!left.includes(shardName(1)), 'a killed shard leaves no file under its final name');
    assert.ok(left.some((n) => n.startsWith(`.${shardName(1)}.`) && n.endsWith('.partial')), `only its temporary: ${left.join(', ')}`);
    const refused = runCli(['merge', '--config', 'config.yaml'], sharded);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /shard 1 of 3 is missing: .*shard-00001-of-00003\.h5 does not exist \(build it with ohlc-native build --shard 1\/3\)/);

    // The retry completes it; the finished ones are skipped, saying so.
    const again = await Promise.all([0, 1, 2].map((i) => shardProcess(sharded, i)));
    for (const r of again) assert.equal(r.status, 0, r.stderr);
    // A shard holds part of the time range: a split outside it is not 'empty' (that is the whole build's business).
    for (const r of [first[0], first[2], again[1]]) assert.doesNotMatch(r.stderr, /split holds no image/);
    assert.doesNotMatch(again[1].stderr, /already complete/);
    for (const i of [0, 2]) assert.match(again[i].stderr, new RegExp(`Shard ${i}/3 is already complete in .*${shardName(i).replace(/\./g, '\\.')}.*: skipping it`));

    const merged = runCli(['merge', '--config', 'config.yaml', '--json'], sharded);
    assert.equal(merged.status, 0, merged.stderr);
    const summary = JSON.parse(merged.stdout) as { master: string; images: number; rowsPerShard: number[] };
    assert.equal(summary.master, join(out, `${STEM}.h5`));
    assert.equal(summary.rowsPerShard.length, N);

    // h5py reads the master through its virtual datasets: the single build, array by array.
    const same = runPython<{ arrays: Record<string, { equal: boolean; virtual: boolean; shape: number[] }>; attrs: Record<string, boolean>; sources: string[]; picks: boolean }>(
      `
import h5py, numpy as np, json, sys, random
a = h5py.File(sys.argv[1], "r"); b = h5py.File(sys.argv[2], "r")
arrays = {}
assert sorted(a.keys()) == sorted(b.keys()), (sorted(a.keys()), sorted(b.keys()))
for k in a.keys():
    x, y = a[k], b[k]
    eq = x.shape == y.shape and x.dtype == y.dtype
    for s in range(0, x.shape[0], 4096):
        if eq: eq = np.array_equal(x[s:s+4096], y[s:s+4096], equal_nan=x.dtype.kind == "f")
    arrays[k] = {"equal": bool(eq), "virtual": bool(y.is_virtual), "shape": list(y.shape)}
attrs = {k: bool(np.array_equal(np.asarray(a.attrs[k]), np.asarray(b.attrs[k]))) for k in ["symbols", "symbol_table", "split_balance", "skipped", "skipped_rows", "config_sha256", "seq_len", "height", "width"]}
random.seed(7)
picks = all(np.array_equal(a["images"][i], b["images"][i]) for i in random.sample(range(a["images"].shape[0]), 50))
sources = sorted({m.file_name for m in b["images"].virtual_sources()})
print(json.dumps({"arrays": arrays, "attrs": attrs, "sources": sources, "picks": picks}))
`,
      [join(single, 'out', `${STEM}.h5`), summary.master],
    );
    for (const [name, r] of Object.entries(same.arrays)) {
      assert.ok(r.equal, `${name} equals the single build's`);
      assert.ok(r.virtual, `${name} is a virtual dataset`);
    }
    assert.ok(['images', 'sequences', 'timestamps', 'labels', 'returns', 'symbol_index', 'split'].every((k) => k in same.arrays));
    assert.equal(same.arrays.images.shape[0], summary.images);
    for (const [k, equal] of Object.entries(same.attrs)) assert.ok(equal, `metadata ${k} equals the single build's`);
    assert.ok(same.picks, 'random single-image reads through the VDS');
    assert.deepEqual(same.sources, [0, 1, 2].map((i) => shardName(i)), 'the mapping names the shards by relative paths');

    // Relative paths: the folder moved elsewhere still reads.
    const moved = join(root, 'moved');
    cpSync(out, moved, { recursive: true });
    const sum = runPython<number[]>(`import h5py, json, sys; f = h5py.File(sys.argv[1], "r"); print(json.dumps([int(f["images"][i].sum()) for i in (0, 9000, f["images"].shape[0] - 1)]))`, [join(moved, `${STEM}.h5`)]);
    const ref = runPython<number[]>(`import h5py, json, sys; f = h5py.File(sys.argv[1], "r"); print(json.dumps([int(f["images"][i].sum()) for i in (0, 9000, f["images"].shape[0] - 1)]))`, [join(single, 'out', `${STEM}.h5`)]);
    assert.deepEqual(sum, ref);
    // ohlc-native's own reader opens it too.
    const inspected = runCli(['inspect', join(moved, `${STEM}.h5`), '--json'], root);
    assert.equal(inspected.status, 0, inspected.stderr);
    // verify: the shards' stored bytes against the master's manifest, images redrawn through the master.
    const verified = runCli(['verify', join(moved, `${STEM}.h5`), '--sample', '16', '--json'], root);
    assert.equal(verified.status, 0, verified.stdout + verified.stderr);
    const report = JSON.parse(verified.stdout) as { ok: boolean; checked: { redrawn: number; inputs: number } };
    assert.ok(report.ok && report.checked.redrawn === 16 && report.checked.inputs > 0, verified.stdout);
    // A model trained on the master links to the digest verify checks (the shards' bytes).
    const weights = join(root, 'weights.pt');
    writeFileSync(weights, 'model bytes');
    const saved = runCli(['models', 'save', weights, '--dataset', join(moved, `${STEM}.h5`), '--dir', join(root, 'models'), '--json'], root);
    assert.equal(saved.status, 0, saved.stderr);
    const link = (JSON.parse(saved.stdout) as { dataset: { content_sha256: string; images: number } }).dataset;
    assert.equal(link.content_sha256, (report as unknown as { checked: { contentSha256: string } }).checked.contentSha256);
  });

  it('merge refuses a missing, an incomplete and a foreign shard, naming it', () => {
    const out = join(sharded, 'out');
    const copy = (name: string) => {
      const d = dir(name);
      cpSync(out, join(d, 'out'), { recursive: true });
      rmSync(join(d, 'out', `${STEM}.h5`));
      return d;
    };
    const missing = copy('m-missing');
    rmSync(join(missing, 'out', shardName(2)));
    let r = runCli(['merge', '--config', 'config.yaml'], missing);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /shard 2 of 3 is missing/);
    assert.ok(!existsSync(join(missing, 'out', `${STEM}.h5`)), 'no master');

    const incomplete = copy('m-incomplete');
    rmSync(join(incomplete, 'out', `${shardName(0)}.manifest.json`));
    r = runCli(['merge', '--config', 'config.yaml'], incomplete);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /shard 0 of 3 is incomplete: .*shard-00000-of-00003\.h5: its manifest .* is missing/);
    // A shard without its manifest is built again, not skipped.
    const rebuilt = runCli(['build', '--config', 'config.yaml', '--shard', '0/3'], incomplete);
    assert.equal(rebuilt.status, 0, rebuilt.stderr);
    assert.doesNotMatch(rebuilt.stderr, /already complete/);
    assert.equal(runCli(['merge', '--config', 'config.yaml'], incomplete).status, 0);

    // Shard 1 of a build from another config (another horizon), dropped in under shard 1's name.
    const foreign = copy('m-foreign');
    const other = runCli(['build', '--config', 'config.yaml', '--set', 'labels.horizons=[1,12]', '--set', 'image.stride=3', '--shard', '1/3', '--out', `elsewhere/${STEM}`, '--quiet', '--json'], foreign);
    assert.equal(other.status, 0, other.stderr);
    const otherFile = (JSON.parse(other.stdout) as { outputs: string[] }).outputs[0];
    assert.equal(otherFile, join(foreign, 'elsewhere', shardName(1)));
    renameSync(otherFile, join(foreign, 'out', shardName(1)));
    renameSync(`${otherFile}.manifest.json`, join(foreign, 'out', `${shardName(1)}.manifest.json`));
    r = runCli(['merge', '--config', 'config.yaml'], foreign);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /shard 1 of 3 does not belong to this build: .*built from another configuration/);
    // Named on the command line without a config: compared with shard 0.
    r = runCli(['merge', ...[0, 1, 2].map((i) => join('out', shardName(i)))], foreign);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /shard 1 of 3 .* was built from another configuration than shard 0/);
    r = runCli(['merge', join('out', shardName(0)), join('out', shardName(2))], foreign);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /shard 1 of 3 is not among the files given/);
  });
});

describe('a shard with nothing to draw', { skip: findPython() === null ? 'no python3 with h5py' : false }, () => {
  it('is written empty, and the master is still the single build', () => {
    // PEPEUSDT is not listed yet in 2023-01 (the synthetic market): left out, its shard has no window.
    const d = join(root, 'empty');
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'config.yaml'), `data: { symbols: [BTCUSDT, PEPEUSDT], interval: 1h, start_date: "2023-01", end_date: "2023-01", source: sample, on_symbol_error: skip }
image: { seq_len: 20, resolution: { height: 32 } }
labels: { horizons: [1] }
paths: { raw_data: ${join(root, 'raw')}, processed_data: out, logs: logs }
runtime: { device: cpu }
`);
    const whole = runCli(['build', '--config', 'config.yaml', '--quiet', '--json', '--out', 'single/'], d);
    assert.equal(whole.status, 0, whole.stderr);
    for (const i of [0, 1]) {
      const r = runCli(['build', '--config', 'config.yaml', '--shard', `${i}/2`], d);
      assert.equal(r.status, 0, r.stderr);
      if (i === 1) assert.match(r.stderr, /Shard 1\/2 has no image to draw: it is written empty/);
    }
    const merged = runCli(['merge', '--config', 'config.yaml', '--json'], d);
    assert.equal(merged.status, 0, merged.stderr);
    const same = runPython<boolean[]>(
      `import h5py, numpy as np, json, sys
a = h5py.File(sys.argv[1], "r"); b = h5py.File(sys.argv[2], "r")
print(json.dumps([bool(np.array_equal(a[k][()], b[k][()], equal_nan=a[k].dtype.kind == "f")) for k in a.keys()] + [b["images"].shape[0] == a["images"].shape[0] > 0, a.attrs["skipped_symbols"] == b.attrs["skipped_symbols"]]))`,
      [(JSON.parse(whole.stdout) as { outputs: string[] }).outputs[0], (JSON.parse(merged.stdout) as { master: string }).master],
    );
    assert.ok(same.every(Boolean), JSON.stringify(same));
  });
});

describe('deploy/kubernetes', () => {
  it('the manifests parse, agree on N, and the ConfigMap holds a valid config', async () => {
    const { parseAllDocuments } = await import('yaml');
    const { validateConfig } = await import('../ts/config/load.js');
    const { readFileSync } = await import('node:fs');
    const docs = (file: string) => parseAllDocuments(readFileSync(new URL(`../deploy/kubernetes/${file}`, import.meta.url), 'utf8')).map((d) => {
      assert.deepEqual(d.errors, [], file);
      return d.toJS() as Record<string, any>;
    });
    const [job] = docs('indexed-job.yaml');
    const [merge] = docs('merge-job.yaml');
    const [pvc, configMap] = docs('storage.yaml');
    assert.equal(job.kind, 'Job');
    assert.equal(job.spec.completionMode, 'Indexed');
    assert.equal(job.spec.completions, job.spec.parallelism);
    assert.ok(Number.isInteger(job.spec.backoffLimitPerIndex));
    assert.equal(job.spec.template.spec.restartPolicy, 'Never', 'backoffLimitPerIndex needs restartPolicy Never');
    const command: string[] = job.spec.template.spec.containers[0].command;
    assert.deepEqual(command.slice(0, 3), ['npx', 'ohlc-native', 'build']);
    assert.equal(command[command.indexOf('--shard') + 1], `auto/${job.spec.completions}`);
    assert.deepEqual(merge.spec.template.spec.containers[0].command.slice(0, 3), ['npx', 'ohlc-native', 'merge']);
    for (const j of [job, merge]) {
      const volumes = j.spec.template.spec.volumes as Array<Record<string, any>>;
      assert.equal(volumes.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim.claimName, pvc.metadata.name);
      assert.equal(volumes.find((v) => v.configMap)?.configMap.name, configMap.metadata.name);
      const cmd: string[] = j.spec.template.spec.containers[0].command;
      assert.equal(cmd[cmd.indexOf('--config') + 1], '/config/build.yaml');
    }
    assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany']);
    const { parse } = await import('yaml');
    const config = validateConfig(parse(configMap.data['build.yaml']), 'build.yaml');
    assert.equal(config.image.storage.format, 'hdf5');
    assert.ok(config.paths.raw_data.startsWith('/data/') && config.paths.processed_data.startsWith('/data/'));
  });
});
