'use strict';
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const test = require('node:test');
const {writeResult} = require('../lib/result');

test('the result is written to the --result file as one JSON object, and nothing is left beside it', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'result-'));
  const file = path.join(folder, 'result.json');
  writeResult(file, {outputs: [1, 2], profile: null});
  assert.deepStrictEqual(JSON.parse(fs.readFileSync(file, 'utf8')), {outputs: [1, 2], profile: null});
  assert.deepStrictEqual(fs.readdirSync(folder), ['result.json']);
});
