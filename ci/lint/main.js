#!/usr/bin/env node
// Lints GitHub Actions files: workflows (actionlint, and the inputs they give local
// actions), action metadata (the action schema) and the shell in both (shellcheck on
// run: scripts), plus the shell scripts the action runs. Prints one `FILE:LINE:COLUMN: MESSAGE [KIND]` line per finding and
// a closing count. Without FILE arguments it lints the repository's own files (run
// from the repository root). Normally run through ci/lint-workflows.sh, which
// installs the npm packages first.
// Exit: 0 no findings, 1 findings, 2 usage or an unreadable file, 3 a linter failed.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { lintWorkflow } = require('./actionlint');
const { lintAction } = require('./action_schema');
const { lintLocalActionUses } = require('./local_actions');
const { lintRunScripts, lintShellFile, shellcheckWasMissing } = require('./run_scripts');
const { parseWithPositions, parseErrorFindings } = require('./yaml_positions');

const USAGE = 'usage: node ci/lint/main.js [FILE...]  (workflow .yml/.yaml, action.yml/action.yaml, .sh)';

function filesIn(dir, pattern) {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((name) => pattern.test(name))
    .sort()
    .map((name) => path.join(dir, name));
}

// The repository's files: every workflow, the users' workflow template, the action
// and the scripts it runs.
function repositoryFiles() {
  return [
    ...filesIn('.github/workflows', /\.ya?ml$/),
    ...filesIn('ci', /^github-actions\.ya?ml$/),
    ...filesIn('.', /^action\.ya?ml$/),
    ...filesIn('ci/action', /\.sh$/),
  ];
}

function kindOf(file) {
  const name = path.basename(file);
  if (/^action\.ya?ml$/.test(name)) return 'action';
  if (/\.ya?ml$/.test(name)) return 'workflow';
  if (/\.sh$/.test(name)) return 'shell';
  return null;
}

async function lintFile(file, kind) {
  if (kind === 'shell') return lintShellFile(file);
  const text = fs.readFileSync(file, 'utf8');
  const { doc, lineCounter } = parseWithPositions(text);
  if (kind === 'workflow') {
    // actionlint reports YAML errors itself; the run: scripts need a parsed document.
    const findings = await lintWorkflow(file, text);
    if (doc.errors.length) return findings;
    return findings.concat(lintRunScripts(file, text, doc, lineCounter, kind), lintLocalActionUses(file, doc, lineCounter));
  }
  if (doc.errors.length) return parseErrorFindings(file, doc);
  return lintAction(file, text, doc, lineCounter).concat(lintRunScripts(file, text, doc, lineCounter, kind));
}

async function main(args) {
  if (args.some((a) => a.startsWith('-'))) {
    console.error(USAGE);
    return 2;
  }
  const files = args.length ? args : repositoryFiles();
  if (files.length === 0) {
    console.error('lint-workflows: no workflow or action files here (run it from the repository root)');
    return 2;
  }
  for (const file of files) {
    if (!kindOf(file) || !fs.existsSync(file)) {
      console.error(`lint-workflows: ${file}: ${kindOf(file) ? 'no such file' : 'not a workflow, action or shell file'}`);
      return 2;
    }
  }
  let findings = [];
  for (const file of files) findings = findings.concat(await lintFile(file, kindOf(file)));
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
  for (const f of findings) console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
  if (shellcheckWasMissing())
    console.log('lint-workflows: shellcheck not found, so the shell was not checked (Debian package shellcheck)');
  console.log(`lint-workflows: ${files.length} files checked, ${findings.length} findings`);
  return findings.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`lint-workflows: ${error.message}`);
    process.exit(3);
  },
);
