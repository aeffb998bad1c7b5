"""REPORT.md, the README block and the verdict, rendered from a hand-written results file."""

from __future__ import annotations

import json

import pytest

from d2lkit.errors import TrainingFailed
from d2lkit.report.markdown import (
    README_BEGIN,
    README_END,
    format_result,
    readme_block,
    render_report,
    update_readme,
)
from d2lkit.report.results import failing_rows, raise_if_failing
from d2lkit.report.summary_chart import plot_summary


def row(recipe: str, values: list[float], **changes) -> dict:
    mean = sum(values) / len(values) if values else None
    base = {
        "recipe": recipe,
        "description": f"{recipe} network",
        "kind": "train",
        "tuned_from": None,
        "metric": "test_acc",
        "metric_label": "test accuracy",
        "book": {"value": 0.759, "text": "0.759", "settings": "Adam 1e-3", "source": "port ch5.5"},
        "band": {"minimum": 0.749, "maximum": None, "text": ">= 0.749"},
        "comparable": True,
        "deviation": "",
        "values": values,
        "mean": mean,
        "std": None,
        "checks": {},
        "failures": [],
        "status": "pass",
        "epochs": 5,
        "wall_s": 21.4,
        "images_per_s": 15234.7,
        "device": "cpu",
        "precision": "fp32",
        "curves": f"{recipe}/curves.png",
    }
    return {**base, **changes}


@pytest.fixture
def results(tmp_path) -> dict:
    rows = [
        row("lenet", [0.7932, 0.7811, 0.7901], std=0.00628),
        row("lenet-tuned", [0.8712], tuned_from="lenet", deviation="tuned on purpose: adamw 0.01"),
        row(
            "alexnet",
            [0.612],
            comparable=False,
            status="not comparable",
            deviation="1 epoch on the first 2048 training images",
            curves="alexnet/seed0/curves.png",
        ),
        row(
            "batchnorm", [0.70], status="below band", book={**row("x", [])["book"], "text": "0.734"}
        ),
        row("resnet", [], status="failed", failures=["non-finite loss at epoch 2 step 7"]),
        row(
            "linreg",
            [0.000904],
            metric_label="max |error| of learned w, b",
            book={"value": None, "text": "w = [2, -3.4]", "settings": "SGD", "source": "ch3.3"},
            band={"minimum": None, "maximum": 0.01, "text": "<= 0.01"},
            wall_s=312.0,
            images_per_s=None,
        ),
    ]
    fake = {
        "profile": "cpu",
        "seeds": 3,
        "generated": "2026-11-29T10:00:00+00:00",
        "machine": {
            "cpu_model": "AMD EPYC",
            "cpu_count": 2,
            "platform": "Linux-6",
            "python": "3.11.7",
            "torch": "2.14.1",
            "d2lkit": "0.1.0",
            "git_revision": "abc1234",
            "date": "2026-11-29",
        },
        "total_wall_s": 1500.0,
        "rows": rows,
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps(fake))
    return json.loads(path.read_text())


def table_lines(report: str, first_cell: str) -> list[str]:
    return [line for line in report.splitlines() if line.startswith(f"| {first_cell} |")]


def test_the_report_has_one_row_per_recipe_with_its_figures(results):
    report = render_report(results, "summary.png")
    header = "| Recipe | Metric | Book | Ours | Band | Status | Epochs | Wall | Images/s | Device |"
    assert header in report
    lenet = table_lines(report, "lenet")[0]  # [1] is the tuned table's
    assert lenet == (
        "| lenet | test accuracy | 0.759 | 0.7881 ± 0.0063 | >= 0.749 | pass | 5 | 21 s | 15,235"
        " | cpu, fp32 | yes | - | [curves](lenet/curves.png) |"
    )
    (linreg,) = table_lines(report, "linreg")
    assert (
        "| max \\|error\\| of learned w, b | w = [2, -3.4] | 9.04e-04 (1 of 3 seeds) | <= 0.01 |"
        in linreg
    )
    assert "| 5 min 12 s | - |" in linreg
    assert "Machine: AMD EPYC, 2 CPU cores, no GPU; Linux-6; Python 3.11.7, torch 2.14.1" in report
    assert "seeds 0 to 2 (mean ± sample standard deviation)" in report
    assert "![ours vs the book](summary.png)" in report


def test_comparable_marks_and_statuses(results):
    report = render_report(results)
    (alexnet,) = table_lines(report, "alexnet")
    assert "| not comparable |" in alexnet
    assert (
        "| no | 1 epoch on the first 2048 training images | [curves](alexnet/seed0/curves.png) |"
        in (alexnet)
    )
    assert "| **below band** |" in table_lines(report, "batchnorm")[0]
    (resnet,) = table_lines(report, "resnet")
    assert "| failed |" in resnet and "| **failed** |" in resnet
    assert "Failed: non-finite loss at epoch 2 step 7" in report


def test_tuned_rows_sit_beside_the_book_and_the_reproduction(results):
    report = render_report(results)
    assert "| Network | Book | Reproduced | Tuned | What the tuned recipe changes |" in report
    tuned = [line for line in report.splitlines() if line.startswith("| lenet | 0.759 |")]
    # One of its three seeds finished, as in the main table.
    assert tuned == [
        "| lenet | 0.759 | 0.7881 ± 0.0063 | 0.8712 (1 of 3 seeds) | tuned on purpose: adamw 0.01 |"
    ]


def test_mean_and_std_share_a_format():
    assert format_result(row("a", [0.8], std=None), seeds=1) == "0.8000"
    assert format_result(row("a", [0.81, 0.79], std=0.01414), seeds=1) == "0.8000 ± 0.0141"
    assert format_result(row("a", [431.7, 420.1], std=8.2), seeds=1) == "426 ± 8"
    assert format_result(row("a", [], failures=["boom"]), seeds=1) == "failed"
    assert format_result(row("a", []), seeds=1) == "-"


def test_a_mean_over_fewer_seeds_than_asked_says_so():
    """A seed that failed left the row's mean over the others, under a header saying 3 seeds."""
    assert format_result(row("a", [0.81, 0.79], std=0.01414), seeds=3) == (
        "0.8000 ± 0.0141 (2 of 3 seeds)"
    )
    assert format_result(row("a", [0.8, 0.8, 0.8], std=0.0), seeds=3) == "0.8000 ± 0.0000"


def test_comparable_rows_below_band_or_failed_fail_the_run(results, tmp_path):
    assert [r["recipe"] for r in failing_rows(results)] == ["batchnorm", "resnet"]
    with pytest.raises(TrainingFailed) as caught:
        raise_if_failing(results, tmp_path / "REPORT.md")
    assert caught.value.exit_code == 1
    assert "batchnorm 0.7 (band >= 0.749); resnet failed" in str(caught.value)
    passing = {**results, "rows": [r for r in results["rows"] if r["status"] != "below band"]}
    passing["rows"] = [r for r in passing["rows"] if r["status"] != "failed"]
    raise_if_failing(passing, tmp_path / "REPORT.md")  # the not-comparable alexnet does not count


def test_the_readme_block_is_replaced_in_place(results, tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# d2lkit\n\n## Results\n\n{README_BEGIN}\nold\n{README_END}\n\n## More\n")
    block = readme_block(results, "d2lkit reproduce --profile cpu --out reproduce/cpu")
    update_readme(readme, block)
    update_readme(readme, block)  # twice: still one block
    text = readme.read_text()
    assert text.count(README_BEGIN) == 1 and "old" not in text
    assert text.startswith("# d2lkit\n\n## Results\n\n") and text.endswith("\n\n## More\n")
    assert "Machine: AMD EPYC" in text and "[curves]" not in text
    assert "Generated by `d2lkit reproduce --profile cpu --out reproduce/cpu`" in text
    assert len(table_lines(text, "lenet")) == 2  # the results row and the tuned row


def test_a_readme_without_markers_is_an_error(results, tmp_path):
    from d2lkit.errors import D2lkitError

    readme = tmp_path / "README.md"
    readme.write_text("# d2lkit\n")
    with pytest.raises(D2lkitError, match="no results block; add the lines"):
        update_readme(readme, readme_block(results, "d2lkit reproduce"))


def test_the_summary_chart_has_the_accuracy_rows(results, tmp_path, saved_figures):
    path = plot_summary(results, tmp_path / "summary.png")
    assert path.read_bytes().startswith(b"\x89PNG")
    from matplotlib.container import BarContainer

    (ax,) = saved_figures[0].axes
    book_bars, our_bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    # Accuracy rows with a result: linreg's figure is an error, resnet did not run.
    rows = [r for r in results["rows"] if r["recipe"] not in ("linreg", "resnet")]
    assert [t.get_text() for t in ax.get_xticklabels()] == [r["recipe"] for r in rows]
    assert [b.get_height() for b in book_bars] == [r["book"]["value"] for r in rows]
    assert [b.get_height() for b in our_bars] == [r["mean"] for r in rows]
    # From 0: an axis from 0.38 drew nin's 0.48 at a quarter of the book's 0.831.
    assert ax.get_ylim() == (0.0, 1.0)
    assert "dashed" in ax.get_xlabel() and "hatched" in ax.get_xlabel()
    no_accuracy = {**results, "rows": [r for r in results["rows"] if r["recipe"] == "linreg"]}
    assert plot_summary(no_accuracy, tmp_path / "none.png") is None


def test_the_summary_chart_explains_only_the_marks_it_draws(results, tmp_path, saved_figures):
    """A chart of smoke-scale rows only said "dashed: the band's lower bound" and drew none."""
    smoke = [{**row, "comparable": False} for row in results["rows"]]
    plot_summary({**results, "rows": smoke}, tmp_path / "summary.png")
    assert saved_figures[0].axes[0].get_xlabel() == "hatched: not comparable to the book"


@pytest.mark.parametrize(
    "content",
    [
        b"\x7fELF\x02\x01\x01\x00\x00\xff\xfe",
        f"caf\xe9\n{README_BEGIN}\n{README_END}\n".encode("latin-1"),
    ],
    ids=["binary", "latin-1"],
)
def test_a_readme_that_is_not_utf8_is_one_line_and_kept(content, results, tmp_path):
    """`--readme binfile`, or a Latin-1 README with the markers, was a UnicodeDecodeError
    traceback."""
    from d2lkit.errors import D2lkitError

    readme = tmp_path / "README.md"
    readme.write_bytes(content)
    with pytest.raises(D2lkitError, match="README.md: not UTF-8 text; pass the README"):
        update_readme(readme, readme_block(results, "d2lkit reproduce"))
    assert readme.read_bytes() == content
