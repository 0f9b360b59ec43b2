"""The bridge to the Node scripts of modelzoo/node: the result comes from the --result file."""

import json

import pytest

from modelzoo import node
from modelzoo.constants import NODE_DIR

# Prints a decoy JSON line (as a chatty library might), then hands its real result over as the
# model zoo's scripts do, with lib/result.js.
SCRIPT = """
const {parseArgs} = require('util');
const {RESULT_OPTION, writeResult} = require(%s);
const {values} = parseArgs({options: {answer: {type: 'string'}, ...RESULT_OPTION}});
console.log('{"decoy": true}');
if (values.answer !== 'none') writeResult(values.result, {answer: values.answer});
console.log('{"decoy": "last"}');
"""


@pytest.fixture
def scripts(tmp_path, monkeypatch):
    """A folder of Node scripts with the packages `check_installed` looks for."""
    for package in ("tfjs", "tfjs-backend-wasm"):
        folder = tmp_path / "node_modules" / "@tensorflow" / package
        folder.mkdir(parents=True)
        (folder / "package.json").write_text("{}")
    (tmp_path / "answer.js").write_text(SCRIPT % json.dumps(str(NODE_DIR / "lib" / "result.js")))
    monkeypatch.setattr(node, "NODE_DIR", tmp_path)
    return tmp_path


def test_the_result_is_read_from_the_result_file_not_from_stdout(scripts):
    assert node.run_script("answer.js", ["--answer", "42"]) == {"answer": "42"}


def test_a_script_that_writes_no_result_file_is_an_error(scripts):
    with pytest.raises(node.NodeError, match="answer.js wrote no result file"):
        node.run_script("answer.js", ["--answer", "none"])
