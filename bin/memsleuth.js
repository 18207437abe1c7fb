#!/usr/bin/env node
// The compiled CLI lives in dist/ (npm install runs `tsc` through the prepare script).
import('../dist/src/cli/index.js').then((m) => m.main(process.argv)).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('memsleuth: not built yet; run "npm install" (or "npm run build") in the memsleuth folder first');
    process.exit(2);
  }
  throw err;
});
