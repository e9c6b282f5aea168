// An action's metadata file (action.yml) against SchemaStore's github-action schema,
// through @action-validator/core (Rust compiled to WebAssembly). actionlint checks
// workflows only; this covers the other kind of file.
'use strict';

const actionValidator = require('@action-validator/core');
const { pointerPosition } = require('./yaml_positions');

function depth(pointer) {
  return pointer.split('/').length - 1;
}

// How far a branch of a oneOf got into the document: the deepest pointer it names.
function reach(errors) {
  return Math.max(0, ...errors.map((e) => Math.max(depth(e.path ?? ''), e.states ? Math.max(...e.states.map((s) => reach(s.errors))) : 0)));
}

// A oneOf lists, per alternative (node, docker or composite action; run or uses
// step), why it did not match. Only the alternatives that got furthest are about the
// author's intent: `using: composite` with a bad step fails node's and docker's at
// /runs/using, and composite's deeper in /runs/steps.
function likelyAlternatives(states) {
  const furthest = Math.max(...states.map((s) => reach(s.errors)));
  const deepest = states.filter((s) => reach(s.errors) === furthest);
  const fewest = Math.min(...deepest.map((s) => s.errors.length));
  return deepest.filter((s) => s.errors.length === fewest);
}

// Each schema error as {message, placed} (placed: the pointer whose line it is put
// on); alternatives that tie become one "A, or B".
function schemaProblems(errors) {
  const problems = [];
  for (const e of errors) {
    if (e.states?.length) {
      const alternatives = likelyAlternatives(e.states).map((s) => schemaProblems(s.errors));
      if (alternatives.length === 1) {
        problems.push(...alternatives[0]);
      } else {
        const message = alternatives.map((a) => a.map((p) => p.message).join('; ')).join(', or ');
        problems.push({ message, placed: e.path ?? '' });
      }
      continue;
    }
    const pointer = e.path ?? '';
    // "Additional property 'X' is not allowed" is about key X, not about its parent.
    const extra = /Additional property '([^']+)'/.exec(e.detail ?? '');
    problems.push({ message: `${pointer || '/'}: ${e.detail ?? e.title}`, placed: extra ? `${pointer}/${extra[1]}` : pointer });
  }
  return problems;
}

function lintAction(file, text, doc, lineCounter) {
  const result = actionValidator.validateAction(text);
  return schemaProblems(result.errors).map((p) => {
    const { line, column } = pointerPosition(doc, lineCounter, p.placed);
    return { file, line, column, message: p.message, kind: 'action-schema' };
  });
}

module.exports = { lintAction };
