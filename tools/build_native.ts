/**
 * Builds native/ (the sampling heap profiler and its ptrace injector) into dist/native/host/ with the system gcc,
 * as part of `npm run build`. Without gcc it says so and succeeds: `trace user` then builds on first use, or
 * explains what to install. `node dist/tools/build_native.js --toolchain aarch64-linux-gnu-` cross-builds the
 * library into dist/native/aarch64-linux-gnu-/.
 */
import { ensureInjector, ensureSampler } from '../src/trace/user/native_lib.js';
import { findTool } from '../src/symbolize/addr2line.js';

const i = process.argv.indexOf('--toolchain');
const prefix = i > 0 ? process.argv[i + 1] : undefined;
if (findTool(`${prefix ?? ''}gcc`) === undefined) {
  console.log(`build_native: ${prefix ?? ''}gcc not found; the sampler will be built on first use of trace user`);
} else {
  try {
    const lib = await ensureSampler(prefix);
    const built = [lib];
    if (prefix === undefined && process.arch === 'x64') built.push(await ensureInjector());
    console.log(`build_native: ${built.join(', ')}`);
  } catch (err) {
    console.error(`build_native: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
