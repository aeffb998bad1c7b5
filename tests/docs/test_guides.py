"""Every chapter guide in docs/ runs: its python blocks execute and its d2lkit commands parse."""

from __future__ import annotations

from pathlib import Path

import pytest
from guide_runner import (
    GuideError,
    check_command,
    command_lines,
    read_blocks,
    run_guide,
    unknown_names,
)

from d2lkit.cli import build_parser

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDES = sorted(DOCS.glob("*.md"))


def test_the_guides_are_there():
    names = {p.name for p in GUIDES}
    expected = {"README.md", "preliminaries.md", "basics.md", "computation.md", "cnn.md"}
    expected |= {"optimization.md", "performance.md", "vision.md"}
    assert expected <= names


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_guide_runs(guide: Path, tmp_path, monkeypatch, guide_tally):
    # Guides save files like the book does (torch.save(x, "x-file")); keep them out of the repo.
    monkeypatch.chdir(tmp_path)
    result = run_guide(guide, f"docs/{guide.name}")
    guide_tally.guides.add(guide.name)
    guide_tally.blocks_ran += result.ran
    guide_tally.blocks_compiled_only += result.compiled_only


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_guide_commands_parse(guide: Path, guide_tally):
    parser = build_parser()
    name = f"docs/{guide.name}"
    commands = command_lines(read_blocks(guide.read_text(encoding="utf-8"), name))
    for line, argv in commands:
        check_command(parser, argv, f"{name}:{line}")
    guide_tally.commands_parsed += len(commands)


BROKEN_GUIDE = """\
# A broken guide

```python
x = 1
```

Some prose.

```python
y = x + 1
assert y == 3, "the book says 3"
```
"""


def test_a_broken_example_fails_with_guide_and_line(tmp_path):
    guide = tmp_path / "broken.md"
    guide.write_text(BROKEN_GUIDE)
    with pytest.raises(GuideError) as failure:
        run_guide(guide, "docs/broken.md")
    message = str(failure.value)
    assert "docs/broken.md" in message
    assert "block at line 9" in message  # the second block's fence
    assert "at line 11" in message  # the assert itself
    assert "the book says 3" in message


def test_blocks_share_one_namespace_in_order_and_no_run_is_compiled_only(tmp_path):
    guide = tmp_path / "ok.md"
    guide.write_text(
        "```python\nvalues = [1, 2]\n```\n"
        "```python no-run\nraise RuntimeError('needs 8 GPUs')\n```\n"
        "```bash\necho not python\n```\n"
        "```python\nvalues.append(3)\nassert values == [1, 2, 3]\n```\n"
    )
    assert run_guide(guide).ran == 2
    assert run_guide(guide).compiled_only == 1


def test_a_no_run_block_must_still_compile(tmp_path):
    guide = tmp_path / "syntax.md"
    guide.write_text("text\n\n```python no-run\ndef broken(:\n```\n")
    with pytest.raises(GuideError, match=r"syntax\.md: the python block at line 3 does not"):
        run_guide(guide)


def test_an_unclosed_block_is_an_error(tmp_path):
    guide = tmp_path / "open.md"
    guide.write_text("```python\nx = 1\n")
    with pytest.raises(GuideError, match="line 1 is never closed"):
        run_guide(guide)


def test_shell_blocks_yield_d2lkit_commands_with_their_lines():
    text = (
        "```bash\n"
        "# a comment\n"
        "d2lkit data info --data-dir /tmp/x\n"
        "make demo\n"
        "torchrun --nproc-per-node 2 -m d2lkit train lenet \\\n"
        "    --epochs 1\n"
        "D2LKIT_DATA=/data python -m d2lkit data show --out g.png  # a grid\n"
        "```\n"
    )
    assert command_lines(read_blocks(text, "t.md")) == [
        (3, ["data", "info", "--data-dir", "/tmp/x"]),
        (5, ["train", "lenet", "--epochs", "1"]),
        (7, ["data", "show", "--out", "g.png"]),
    ]


def test_a_command_that_does_not_parse_is_an_error():
    parser = build_parser()
    check_command(parser, ["data", "show", "--out", "grid.png"], "t.md:1")
    with pytest.raises(GuideError, match=r"t\.md:4: `d2lkit data show --colour red` does not"):
        check_command(parser, ["data", "show", "--colour", "red"], "t.md:4")
    with pytest.raises(GuideError, match="invalid choice"):
        check_command(parser, ["no-such-command"], "t.md:5")


def test_unknown_model_and_dataset_names_are_caught():
    assert unknown_names(["train", "lenet", "--dataset", "fashion-mnist"]) is None
    assert unknown_names(["train", "--resume", "runs/lenet"]) is None
    assert "'lenet_typo'" in unknown_names(["train", "lenet_typo"])
    assert "'no-such-set:x'" in unknown_names(["train", "mlp", "--dataset", "no-such-set:x"])
    assert "'nope'" in unknown_names(["models", "summary", "nope"])


def test_unknown_recipe_names_are_caught():
    pytest.importorskip("d2lkit.recipes", reason="the recipes are not merged yet")
    assert unknown_names(["train", "--recipe", "lenet"]) is None
    assert unknown_names(["reproduce", "--only", "lenet,softmax", "--out", "r"]) is None
    assert "['lenet-typo']" in unknown_names(["reproduce", "--only", "softmax,lenet-typo"])
