#!/usr/bin/env node
/** Entry point of the `clusterlink` command. */
import { processContext } from './context';
import { run } from './program';

run(process.argv.slice(2), processContext()).then(
  (code) => {
    // Long-running commands (gateway, controlplane, dataplane) resolve only when they stop.
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
