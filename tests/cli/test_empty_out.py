"""`--out "$DIR"` with DIR unset: every command refuses the empty name before any work. fit and
optim weight-decay drew no figure and said nothing; reproduce, bench, speedrun and optim trace
filled the current folder with their files."""

from __future__ import annotations

import pytest
from cli_helpers import assert_one_line_error, run_cli


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["fit", "polynomial"], "an empty file name; pass a file name such as figure.png"),
        (["optim", "weight-decay", "--epochs", "1"], "an empty file name"),
        (["optim", "trace", "--skip-real"], "argument --out: an empty folder name"),
        (["reproduce", "--only", "linreg"], "argument --out: an empty folder name"),
        (["bench", "--quick"], "argument --out: an empty folder name"),
        (["speedrun"], "argument --out: an empty folder name"),
        (["train", "softmax", "--epochs", "1"], "--out is empty"),
    ],
    ids=lambda value: value[0] if isinstance(value, list) else None,
)
@pytest.mark.parametrize("empty", ["", " "])
def test_an_empty_out_is_refused_before_any_work(argv, said, empty, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli([*argv, "--out", empty], capsys)
    assert_one_line_error(code, err, said)
    assert out == "" and list(tmp_path.iterdir()) == []
