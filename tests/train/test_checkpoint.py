"""Checkpoints: atomic writes that survive failures mid-write, RNG capture, and refusal of
files that would need arbitrary code to load."""

from __future__ import annotations

import os
import pickle
import random
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import d2lkit
from d2lkit.cli import main
from d2lkit.errors import D2lkitError
from d2lkit.train import checkpoint
from d2lkit.train.checkpoint import (
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from d2lkit.train.resume import find_checkpoint

SRC = str(Path(d2lkit.__file__).parents[1])


def first_state() -> dict:
    return {"epoch": 1, "model": {"w": torch.arange(1000.0)}}


def assert_first_state(path: Path) -> None:
    state = load_checkpoint(path)
    assert state["epoch"] == 1 and torch.equal(state["model"]["w"], torch.arange(1000.0))


def test_round_trip(tmp_path):
    path = save_checkpoint(first_state(), tmp_path / "checkpoint.pt")
    assert_first_state(path)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.pt"]


@pytest.mark.parametrize("failing", ["torch.save", "os.replace"])
def test_failure_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch, failing):
    path = save_checkpoint(first_state(), tmp_path / "checkpoint.pt")
    real_save = torch.save

    def save_half_then_fail(obj, f):
        real_save(obj, f)
        f.truncate(f.tell() // 2)
        raise OSError(28, "No space left on device")

    def refuse_replace(src, dst):
        raise OSError(5, "Input/output error")

    if failing == "torch.save":
        monkeypatch.setattr(checkpoint.torch, "save", save_half_then_fail)
    else:
        monkeypatch.setattr(checkpoint.os, "replace", refuse_replace)
    with pytest.raises(OSError):
        save_checkpoint({"epoch": 2, "model": {"w": torch.zeros(1000)}}, path)
    monkeypatch.undo()
    assert_first_state(path)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.pt"]  # the temporary file is gone


def test_process_killed_mid_write(tmp_path):
    """SIGKILL while the new checkpoint is half written: the old one is still the checkpoint,
    the debris is a hidden temporary file that nothing takes for the latest, and the next save
    clears it."""
    script = tmp_path / "die_mid_write.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, signal, sys
            import torch
            from d2lkit.train import checkpoint

            path = sys.argv[1]
            checkpoint.save_checkpoint({"epoch": 1, "model": {"w": torch.arange(1000.0)}}, path)

            def half_then_die(obj, f):
                f.write(b"PK\\x03\\x04" + bytes(5000))
                f.flush()
                os.kill(os.getpid(), signal.SIGKILL)

            torch.save = half_then_die
            checkpoint.save_checkpoint({"epoch": 2, "model": {"w": torch.zeros(1000)}}, path)
            """
        )
    )
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    result = subprocess.run(
        [sys.executable, str(script), str(run_dir / "checkpoint.pt")],
        env=dict(os.environ, PYTHONPATH=SRC),
        capture_output=True,
    )
    assert result.returncode == -9, result.stderr
    debris = [name for name in os.listdir(run_dir) if name != "checkpoint.pt"]
    assert len(debris) == 1 and debris[0].startswith(".checkpoint.pt.")
    assert find_checkpoint(run_dir) == run_dir / "checkpoint.pt"
    assert_first_state(run_dir / "checkpoint.pt")
    save_checkpoint({"epoch": 2}, run_dir / "checkpoint.pt")
    assert sorted(os.listdir(run_dir)) == ["checkpoint.pt"]
    assert load_checkpoint(run_dir / "checkpoint.pt")["epoch"] == 2


def test_rng_state_round_trips_through_a_checkpoint(tmp_path):
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    torch.rand(5), np.random.normal(), random.random()  # leave numpy with a cached gaussian
    save_checkpoint({"rng": capture_rng_state()}, tmp_path / "checkpoint.pt")
    expected = (torch.rand(3), np.random.normal(size=3), [random.random() for _ in range(3)])
    torch.manual_seed(9), np.random.seed(9), random.seed(9)
    restore_rng_state(load_checkpoint(tmp_path / "checkpoint.pt")["rng"])
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.normal(size=3), expected[1])
    assert [random.random() for _ in range(3)] == expected[2]


def test_a_run_saved_on_more_gpus_restores_the_generators_of_those_present(monkeypatch):
    """A run saved where 8 GPUs were visible resumes on a machine with 1 (an IndexError was)."""
    state = {
        **capture_rng_state(),
        "cuda": [torch.full((16,), gpu, dtype=torch.uint8) for gpu in range(8)],
    }
    restored = []

    def set_rng_state(generator_state, device=0):
        if device >= 1:
            raise IndexError("no such GPU")
        restored.append((device, generator_state))

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_rng_state", set_rng_state)
    monkeypatch.setattr(torch.cuda.random, "set_rng_state", set_rng_state)
    restore_rng_state(state)
    assert [device for device, _ in restored] == [0]
    assert torch.equal(restored[0][1], state["cuda"][0])


def test_garbage_is_a_clear_error(tmp_path):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(D2lkitError, match="not a readable checkpoint") as err:
        load_checkpoint(path)
    assert str(path) in str(err.value) and "refused" not in str(err.value)
    assert str(err.value).endswith("train the run again)")  # what to do, not only what failed
    # EOFError; text, which the legacy unpickler fails on with KeyError or IndexError.
    for content in (b"", b"hello world\n", b"e"):
        path.write_bytes(content)
        with pytest.raises(
            D2lkitError, match="not a readable checkpoint.*train the run again"
        ) as e:
            load_checkpoint(path)
        assert "()" not in str(e.value)  # the reason is never empty
        assert not re.search(r"\(\d+\)", str(e.value))  # nor the unpickler's key, "(101)"
    with pytest.raises(D2lkitError, match="no such checkpoint file"):
        load_checkpoint(tmp_path / "absent.pt")


def test_an_archive_that_fails_torchs_own_asserts_is_a_clear_error(tmp_path):
    """A damaged checkpoint whose pickle names a storage by a bare number: torch asserts."""
    import zipfile

    path = tmp_path / "checkpoint.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02K\x01Q.")  # persistent id 1, not a tuple
        archive.writestr("archive/byteorder", b"little")
        archive.writestr("archive/version", b"3\n")
    with pytest.raises(D2lkitError, match="not a readable checkpoint.*train the run again"):
        load_checkpoint(path)


def test_a_truncated_checkpoint_gives_torchs_first_sentence_not_a_cut_paragraph(tmp_path):
    whole = tmp_path / "whole.pt"
    torch.save({"weight": torch.zeros(1000)}, whole)
    half = tmp_path / "half.pt"
    half.write_bytes(whole.read_bytes()[:700])
    with pytest.raises(D2lkitError) as err:
        load_checkpoint(half)
    assert (
        "(PytorchStreamReader failed reading zip archive: failed finding central directory);"
        in str(err.value)
    )


# -- crafted checkpoints ----------------------------------------------------------------------


class OpensAFile:
    """Unpickling calls open(path, "w"): the file exists afterwards."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


class RunsAShell:
    """Unpickling runs `touch path` through os.system."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


@pytest.mark.parametrize("payload", [OpensAFile, RunsAShell])
def test_crafted_checkpoint_is_refused_and_runs_nothing(tmp_path, payload, capsys):
    # The payload is real: plain unpickling does create the file.
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(payload(proof)))
    assert proof.exists()

    marker = tmp_path / "pwned"
    crafted = tmp_path / "run" / "checkpoint.pt"
    crafted.parent.mkdir()
    torch.save({"model": {"w": torch.zeros(2)}, "config": payload(marker)}, crafted)
    with pytest.raises(D2lkitError, match="refused: loading it would call") as err:
        load_checkpoint(crafted)
    assert str(crafted) in str(err.value)
    assert ("open" if payload is OpensAFile else "system") in str(err.value)
    assert not marker.exists()

    for run in (crafted, crafted.parent):  # a checkpoint file or a run directory
        assert main(["eval", str(run)]) == 2
        err_text = capsys.readouterr().err
        assert err_text.count("\n") == 1 and "refused" in err_text and "Traceback" not in err_text
        assert not marker.exists()


def test_plain_state_dict_is_not_a_run(tmp_path, capsys):
    """A weights-only file that is not a d2lkit checkpoint (e.g. a torchvision state_dict)."""
    path = tmp_path / "resnet18.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, path)
    assert main(["eval", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "not a d2lkit checkpoint" in err


def test_a_checkpoint_gets_the_mode_of_the_runs_other_files(tmp_path):
    """mkstemp makes its file 0600; the renamed checkpoint must not stay private to its owner."""
    import os

    umask = os.umask(0o022)
    try:
        path = save_checkpoint({"epoch": 1}, tmp_path / "checkpoint.pt")
        (tmp_path / "summary.json").write_text("{}")
    finally:
        os.umask(umask)
    assert (
        path.stat().st_mode & 0o777 == (tmp_path / "summary.json").stat().st_mode & 0o777 == 0o644
    )


def test_save_checkpoint_makes_its_folder_and_refuses_a_folder_as_the_file(tmp_path):
    path = save_checkpoint({"w": torch.ones(1)}, tmp_path / "new" / "folder" / "ckpt.pt")
    assert torch.equal(load_checkpoint(path)["w"], torch.ones(1))
    with pytest.raises(D2lkitError, match="a folder; pass a file name"):
        save_checkpoint({"w": torch.ones(1)}, tmp_path)
