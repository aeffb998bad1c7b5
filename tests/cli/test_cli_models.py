"""`d2lkit models list` and `d2lkit models summary` through the CLI entry point."""

from __future__ import annotations

import re

import pytest

from d2lkit.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table_rows(out: str) -> dict[str, list[str]]:
    """First column -> all columns, for the lines below the header rule."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if set(line) <= {"-", " "} and line) + 1
    return {cells[0]: cells for cells in (line.split() for line in lines[start:]) if cells}


def test_list_shows_every_model_with_family_params_and_input(capsys):
    code, out, _ = run(capsys, "models", "list")
    assert code == 0
    assert out.splitlines()[0].split() == ["name", "family", "task", "params", "input"]
    rows = table_rows(out)
    assert rows["lenet"] == ["lenet", "lenet", "classification", "44,426", "1x28x28"]
    assert rows["googlenet"] == ["googlenet", "googlenet", "classification", "5,977,530", "1x96x96"]
    assert rows["fcn_resnet18"][1:3] == ["fcn", "segmentation"]
    assert {"alexnet", "vgg11", "nin", "resnet18", "densenet", "linreg"} <= set(rows)


def test_list_columns_are_aligned(capsys):
    _, out, _ = run(capsys, "models", "list")
    lines = out.splitlines()
    # The params column is right-aligned: every row's figure ends where the header's does.
    end = lines[0].index("params") + len("params")
    for line in lines[2:]:
        figure = re.search(r"[\d,]+(?=\s+\d+x)", line)
        assert figure and figure.end() == end, line


def test_list_pattern(capsys):
    code, out, _ = run(capsys, "models", "list", "res*")
    assert code == 0
    assert set(table_rows(out)) == {"resnet18", "resnet18_small"}


def test_a_pattern_without_wildcards_matches_names_that_contain_it(capsys):
    code, out, _ = run(capsys, "models", "list", "resnet")
    assert code == 0
    assert set(table_rows(out)) == {"resnet18", "resnet18_small", "fcn_resnet18"}
    code, out, _ = run(capsys, "models", "list", "LeNet*")  # as the book writes it
    assert code == 0 and set(table_rows(out)) == {"lenet", "lenet_bn", "lenet_bn_scratch"}


def test_list_pattern_without_match_exits_2(capsys):
    code, out, err = run(capsys, "models", "list", "transformer*")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "no model matches 'transformer*'" in err


def test_summary_table_totals_and_flops(capsys):
    code, out, _ = run(capsys, "models", "summary", "lenet")
    assert code == 0
    rows = table_rows(out.split("\noutput:")[0])
    assert rows["0"] == ["0", "Conv2d", "1x6x24x24", "156"]
    assert rows["11"] == ["11", "Linear", "1x10", "850"]
    assert "total params: 44,426" in out
    assert "FLOPs per image (forward): 563,280" in out


def test_summary_with_input_size(capsys):
    code, out, _ = run(capsys, "models", "summary", "googlenet", "--input-size", "1", "96", "96")
    assert code == 0
    rows = table_rows(out.split("\noutput:")[0])
    assert [rows[name][2] for name in ("b1", "b2", "b3", "b4", "b5", "fc")] == [
        "1x64x24x24", "1x192x12x12", "1x480x6x6", "1x832x3x3", "1x1024", "1x10",
    ]  # fmt: skip
    assert "total params: 5,977,530" in out


def test_summary_three_channels(capsys):
    code, out, _ = run(capsys, "models", "summary", "lenet", "--input-size", "3", "28", "28")
    assert code == 0
    assert "total params: 44,726" in out  # conv1 gains 2 * 6 * 5 * 5 = 300 weights


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["models", "summary", "resnet"], "unknown model 'resnet': did you mean resnet18"),
        (["models", "summary", "alexnet", "--input-size", "1", "28", "28"], "alexnet cannot"),
        (["models", "summary", "lenet", "--input-size", "0", "28", "28"], "from 1 to 4096"),
        # an overflow inside torch before
        (["models", "summary", "lenet", "--input-size", "1", str(2**70), "28"], "1 to 4096"),
        # an 84-billion-weight head: an allocation traceback before
        (["models", "summary", "lenet", "--num-classes", "1000000000"], "1 to 100,000"),
        (["models", "summary", "lenet", "--depth", "0"], "--depth"),
    ],
)
def test_summary_bad_input_exits_2_with_one_line(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err
    assert "Traceback" not in err
