"""benchmarks/gpu_reproduce.sh, run with a stand-in for Python: it must work from a bare machine
(no installed d2lkit, data brought along in data/) and hand back a small results folder."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_reproduce.sh"

# Answers as the real commands would on a GPU machine; logs each call with what it saw.
FAKE_PYTHON = r"""#!/usr/bin/env bash
echo "$* | PYTHONPATH=$PYTHONPATH | D2LKIT_DATA=${D2LKIT_DATA:-} | PWD=$PWD" >> "$CALLS"
case "$*" in
  -c*) echo "Fake H200"; exit 0 ;;
  "-m d2lkit data info") exit 0 ;;
  *--report-only*)  # the report from what finished
    printf '# Report\n\n| Recipe | Ours |\n|---|---|\n| lenet | 0.76 |\n\n## Recipes\nnotes\n' \
        > "${@: -1}/REPORT.md"
    exit 0 ;;
  "-m d2lkit reproduce --profile book --out "*)
    out="${@: -1}"
    mkdir -p "$out/lenet"
    echo '{}' > "$out/results.json"
    echo '{}' > "$out/lenet/summary.json"
    head -c 1000 /dev/zero > "$out/lenet/checkpoint.pt"
    echo "1 recipe(s) missed the book" >&2
    exit 1 ;;
esac
exit 3
"""


def checkout(tmp_path: Path) -> Path:
    """A copy of the script in a checkout of its own, which it finds from its own path."""
    repo = tmp_path / "repo"
    (repo / "benchmarks").mkdir(parents=True)
    (repo / "benchmarks" / SCRIPT.name).write_text(SCRIPT.read_text())
    return repo


def run_script(
    tmp_path: Path, repo: Path, *args: str
) -> tuple[subprocess.CompletedProcess, list[str]]:
    python = tmp_path / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    calls = tmp_path / "calls.log"
    calls.unlink(missing_ok=True)
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "PYTHON": str(python),
        "CALLS": str(calls),
    }  # fmt: skip
    result = subprocess.run(
        ["bash", str(repo / "benchmarks" / SCRIPT.name), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, calls.read_text().splitlines()


def test_runs_from_the_checkout_and_hands_back_the_report_without_checkpoints(tmp_path):
    repo, out, results = checkout(tmp_path), tmp_path / "reproduce", tmp_path / "results"
    # Relative paths are the caller's (the script moves to its checkout).
    result, calls = run_script(tmp_path, repo, "reproduce", "results")
    assert result.returncode == 1  # reproduce's own verdict: a recipe missed the book
    # d2lkit is imported from the checkout's src/, from the checkout's root.
    assert all("PYTHONPATH=src | " in call and f"PWD={repo}" in call for call in calls)
    assert "| lenet | 0.76 |" in result.stdout and "## Recipes" not in result.stdout
    assert "== d2lkit reproduce --profile book:" in result.stdout and "Fake H200" in result.stdout
    assert sorted(p.name for p in results.iterdir()) == [
        "REPORT.md", "reproduce.log", "results.json", "runs.tgz",
    ]  # fmt: skip
    assert "missed the book" in (results / "reproduce.log").read_text()
    assert (out / "REPORT.md").is_file()
    with tarfile.open(results / "runs.tgz") as archive:
        names = archive.getnames()
    assert "./lenet/summary.json" in names and not any(n.endswith(".pt") for n in names)


def test_data_brought_along_in_data_is_used_when_d2lkit_data_is_unset(tmp_path):
    repo = checkout(tmp_path)
    _, calls = run_script(tmp_path, repo, str(tmp_path / "reproduce"))
    assert all("D2LKIT_DATA= |" in call for call in calls)  # nothing brought: the usual places
    brought = repo / "data" / "fashion-mnist"
    brought.mkdir(parents=True)
    _, calls = run_script(tmp_path, repo, str(tmp_path / "reproduce"))
    assert all(f"D2LKIT_DATA={brought} |" in call for call in calls)
