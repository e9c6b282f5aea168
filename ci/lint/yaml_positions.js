// Where things are in a YAML file: the schema validator names JSON pointers
// (/runs/steps/0/shell) and shellcheck names lines of a script, and our findings
// name lines and columns of the file.
'use strict';

const YAML = require('yaml');

function parseWithPositions(text) {
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter });
  return { doc, lineCounter };
}

// The YAML parser's own errors as findings (first line of each message: the rest is
// a code frame).
function parseErrorFindings(file, doc) {
  return doc.errors.map((e) => ({
    file,
    line: e.linePos?.[0]?.line ?? 1,
    column: e.linePos?.[0]?.col ?? 1,
    message: e.message.split('\n')[0],
    kind: 'yaml',
  }));
}

// The line and column of the deepest node along a JSON pointer that exists: a map
// entry is placed at its key, a sequence item at its start. A pointer to something
// missing (a required key) is placed at its nearest existing parent.
function pointerPosition(doc, lineCounter, pointer) {
  const segments = pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node = doc.contents;
  let offset = node?.range?.[0] ?? 0;
  for (const segment of segments) {
    if (YAML.isMap(node)) {
      const pair = node.items.find((p) => YAML.isScalar(p.key) && String(p.key.value) === segment);
      if (!pair) break;
      offset = pair.key.range?.[0] ?? offset;
      node = pair.value;
    } else if (YAML.isSeq(node)) {
      const item = node.items[Number(segment)];
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

module.exports = { parseWithPositions, parseErrorFindings, pointerPosition };
