"""Calling the CLI in-process, and the shape every bad-input error must have."""

from __future__ import annotations

from d2lkit.cli import main


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `d2lkit ARGS`."""
    try:
        code = main(args)
    except SystemExit as exit:  # argparse's own errors
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    """Exit code 2 and one `d2lkit[ COMMAND]: error: ...` line (ours or argparse's) holding each
    fragment, no traceback."""
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("d2lkit") and "error: " in lines[0] and "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
