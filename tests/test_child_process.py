"""A child process's failure as one line: its own d2lkit message, or `failure` with its last
line."""

import sys

import pytest

from d2lkit.child_process import run_python
from d2lkit.errors import D2lkitError, TrainingFailed


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_success_raises_nothing():
    run_python(python("print('fine')"), "a child", TrainingFailed)


def test_a_crash_is_the_failure_type_with_the_exit_code_and_last_line():
    code = "import sys; print('first'); print('last words', file=sys.stderr); sys.exit(3)"
    with pytest.raises(TrainingFailed, match=r"^a child exited with 3: last words$"):
        run_python(python(code), "a child", TrainingFailed)


def test_bad_input_in_the_child_is_bad_input_here_with_only_its_message():
    code = "from d2lkit.errors import D2lkitError; raise D2lkitError('x.png: not an image')"
    with pytest.raises(D2lkitError, match=r"^x\.png: not an image$"):
        run_python(python(code), "a child", RuntimeError)


def test_a_child_past_its_time_limit_is_the_failure_type():
    with pytest.raises(RuntimeError, match=r"^a child gave no result within 0.2 s$"):
        run_python(python("import time; time.sleep(30)"), "a child", RuntimeError, timeout=0.2)
