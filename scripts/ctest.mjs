#!/usr/bin/env node
// Runs the native kernel checks registered with CTest (CMakeLists.txt, add_test) in the addon's
// build folder, configuring and building it first when it has none (an install that took a
// prebuild). Part of `npm test`; exits with ctest's status.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = join(root, 'build');
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error) {
    console.error(`ctest: cannot run ${cmd}: ${r.error.message}`);
    process.exit(1);
  }
  return r.status ?? 1;
};

if (!existsSync(join(build, 'CTestTestfile.cmake'))) {
  console.error('ctest: no CTest build folder yet; building the addon and its kernel checks with cmake-js');
  const status = run(process.execPath, [join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js'), 'compile']);
  if (status !== 0) process.exit(status);
} else {
  // Bring the tools up to date with the sources (cheap when nothing changed).
  const status = run('cmake', ['--build', build]);
  if (status !== 0) process.exit(status);
}
process.exit(run('ctest', ['--test-dir', build, '--output-on-failure']));
