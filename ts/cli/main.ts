#!/usr/bin/env node
// The ohlc-native command line.
import { Command } from 'commander';
import { packageInfo } from '../info.js';
import { registerBuild } from './commands/build.js';
import { registerData } from './commands/data.js';
import { registerInfo } from './commands/info.js';
import { registerInspect } from './commands/inspect.js';
import { registerMerge } from './commands/merge.js';
import { registerModels } from './commands/models.js';
import { registerPlan } from './commands/plan.js';
import { registerVerify } from './commands/verify.js';
import { registerUniverse } from './commands/universe.js';
import { EXIT } from './run.js';

// A reader that stops early (`inspect FILE | head -1`) closes our stdout: that ends the command,
// quietly and successfully, whichever command it is.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    throw err;
  });
}

const program = new Command('ohlc-native');
program
  .description('Cryptocurrency candles -> OHLC bar-image datasets (HDF5, NPZ, Zarr, PNG, JPEG)')
  .version(packageInfo().version)
  .showHelpAfterError()
  .exitOverride((err) => {
    // Usage errors (unknown option, missing argument): exit code 2, like config errors.
    process.exit(err.exitCode === 0 ? 0 : EXIT.usage);
  });

registerBuild(program);
registerPlan(program);
registerMerge(program);
registerData(program);
registerUniverse(program);
registerInspect(program);
registerVerify(program);
registerModels(program);
registerInfo(program);

await program.parseAsync();
