"""write_json_atomic writes indented JSON; read_json and read_metrics: a damaged file is one line
naming it."""

from __future__ import annotations

import json

import pytest

from d2lkit.errors import D2lkitError
from d2lkit.jsonfile import read_json, write_json_atomic
from d2lkit.train.callbacks import metrics_line, read_metrics


def test_writes_indented_json_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "summary.json"
    write_json_atomic(path, {"test_acc": 0.9})
    assert json.loads(path.read_text()) == {"test_acc": 0.9}
    assert path.read_text().endswith("}\n")
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


@pytest.mark.parametrize(
    "text, detail",
    [("{garbage", "Expecting property name"), ("[1, 2]", "a JSON list, not an object")],
)
def test_a_damaged_json_file_is_named_with_what_to_do(tmp_path, text, detail):
    path = tmp_path / "recipe.json"
    path.write_text(text)
    with pytest.raises(D2lkitError, match=rf"recipe.json: damaged \(.*{detail}.*\); delete it"):
        read_json(path)


def test_metrics_skip_an_append_cut_off_by_a_crash_but_name_a_damaged_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    rows = [{"epoch": 1, "test_acc": 0.5}, {"epoch": 2, "test_acc": 0.6}]
    path.write_text(metrics_line(rows[0]) + metrics_line(rows[1])[:9])  # no newline: torn
    assert read_metrics(path) == rows[:1]
    path.write_text("{oops\n" + metrics_line(rows[1]))
    with pytest.raises(D2lkitError, match="metrics.jsonl: line 1 is damaged"):
        read_metrics(path)
    for valid_json_but_no_row in ("[1]", '{"epoch": "2"}'):
        path.write_text(metrics_line(rows[0]) + valid_json_but_no_row + "\n")
        with pytest.raises(D2lkitError, match="metrics.jsonl: line 2 is no epoch's row"):
            read_metrics(path)
    path.write_bytes(b"\xff\xfe" + metrics_line(rows[0]).encode())
    with pytest.raises(D2lkitError, match=r"metrics.jsonl: damaged \(not UTF-8 text\)"):
        read_metrics(path)
