// Preloaded into a child (`node --import ./bench/rss-probe.mjs ...`) to report what its parent
// cannot see once it has exited: peak RSS (VmHWM) and CPU time, written as JSON to the file named
// by OHLC_BENCH_PROBE_FILE when the process exits.
import { readFileSync, writeFileSync } from 'node:fs';

const target = process.env.OHLC_BENCH_PROBE_FILE;
if (target) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    let vmHwmBytes = usage.maxRSS * 1024;
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
      if (m) vmHwmBytes = Number(m[1]) * 1024;
    } catch {
      // not Linux: maxRSS it is
    }
    writeFileSync(target, JSON.stringify({ peakRss: vmHwmBytes, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 }));
  });
}
