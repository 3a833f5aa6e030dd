// tsc does not keep the executable bit: make the CLI entry runnable (npx ohlc-native in this repo).
import { chmodSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
for (const bin of Object.values(pkg.bin)) chmodSync(new URL(`../${bin}`, import.meta.url), 0o755);
