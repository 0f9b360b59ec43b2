'use strict';
/**
 * How a script of modelzoo/node hands its result to Python (modelzoo/node.py): one JSON object
 * written to the file given as `--result FILE`, so that nothing a library prints on stdout can
 * be taken for it. Without `--result` (a person running the script) it goes to stdout.
 */
const fs = require('fs');

const RESULT_OPTION = {result: {type: 'string'}};

/** Writes `result` as JSON to `file` (through a temporary file renamed over it), or to stdout. */
function writeResult(file, result) {
  const text = JSON.stringify(result) + '\n';
  if (!file) {
    process.stdout.write(text);
    return;
  }
  const partial = `${file}.partial`;
  fs.writeFileSync(partial, text);
  fs.renameSync(partial, file);
}

module.exports = {RESULT_OPTION, writeResult};
