"""Gather finished recipe runs into one results dict (what DIR/results.json holds), judge each row
against its band, and write the report files."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from d2lkit.atomic import write_text_atomic
from d2lkit.errors import TrainingFailed
from d2lkit.jsonfile import read_json, write_json_atomic
from d2lkit.recipes import Recipe
from d2lkit.report.reproduce import (
    FAILURE,
    IDENTITY,
    finished_summary,
    identity,
    run_directory,
)


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def pooled_rate(rates: Sequence[float | None]) -> float | None:
    """Images/s over the seeds' runs together: each trains the same images, so all of them over
    all the seconds is the harmonic mean of the rates (the plain mean lets one fast seed hide two
    slow ones, and disagrees with a run's own figure of its epochs)."""
    present = [rate for rate in rates if rate]
    return statistics.harmonic_mean(present) if present else None


def status_of(
    recipe: Recipe, profile: str, mean: float | None, checks: dict, failures: list, started: bool
) -> str:
    if failures:
        return "failed"
    if mean is None:  # `started`: a run was begun, and stopped before its summary
        return "unfinished" if started else "not run"
    return recipe.verdict(profile, mean, checks.values())


def collect_row(recipe: Recipe, profile: str, seeds: int, out: Path) -> dict:
    summaries, failures, started = [], [], False
    for seed in range(seeds):
        run_dir = run_directory(out, recipe.name, seed, seeds)
        started = started or (run_dir / IDENTITY).is_file()
        summary = finished_summary(run_dir, identity(recipe, profile, seed), strict=True)
        if summary is not None:
            summaries.append(summary)
        elif (run_dir / FAILURE).is_file():
            failures.append(read_json(run_dir / FAILURE).get("error", "no message recorded"))
    values = [s["value"] for s in summaries]
    mean = statistics.fmean(values) if values else None
    std = statistics.stdev(values) if len(values) > 1 else None
    checks: dict[str, bool] = {}
    for summary in summaries:  # a check holds only if it holds for every seed
        for name, passed in summary.get("checks", {}).items():
            checks[name] = checks.get(name, True) and bool(passed)
    first = summaries[0] if summaries else {}
    curves = run_directory(out, recipe.name, 0, seeds) / "curves.png"
    return {
        "recipe": recipe.name,
        "description": recipe.description,
        "kind": recipe.kind,
        "tuned_from": recipe.tuned_from,
        "metric": recipe.metric,
        "metric_label": recipe.metric_label,
        "book": {
            "value": recipe.book.value,
            "text": recipe.book.text,
            "settings": recipe.book.settings,
            "source": recipe.book.source,
        },
        "band": {
            "minimum": recipe.band.minimum,
            "maximum": recipe.band.maximum,
            "text": recipe.band.describe(),
        },
        "comparable": recipe.comparable(profile),
        "deviation": recipe.deviation_note(profile),
        "values": values,
        "mean": mean,
        "std": std,
        "checks": checks,
        "details": first.get("details"),  # the run's own figures in words (seed 0's)
        "failures": failures,
        "status": status_of(recipe, profile, mean, checks, failures, started),
        "epochs": first.get("epochs"),
        "wall_s": _mean([s.get("recipe_wall_s") for s in summaries]),
        "images_per_s": pooled_rate([s.get("train_images_per_s") for s in summaries]),
        "device": first.get("device"),
        "precision": first.get("precision"),
        "curves": str(curves.relative_to(out)) if curves.is_file() else None,
    }


def collect_results(recipes: Sequence[Recipe], profile: str, seeds: int, out: Path) -> dict:
    machine_path = out / "machine.json"
    rows = [collect_row(recipe, profile, seeds, out) for recipe in recipes]
    return {
        "profile": profile,
        "seeds": seeds,
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": read_json(machine_path) if machine_path.is_file() else {},
        "total_wall_s": sum((row["wall_s"] or 0.0) * len(row["values"]) for row in rows),
        "rows": rows,
    }


def failing_rows(results: dict) -> list[dict]:
    """Rows that make `d2lkit reproduce` fail: a comparable result below its band, or a run that
    failed outright (diverged)."""
    return [
        row
        for row in results["rows"]
        if row["status"] == "failed" or (row["comparable"] and row["status"] == "below band")
    ]


def raise_if_failing(results: dict, report_path: Path) -> None:
    failing = failing_rows(results)
    if failing:
        parts = [
            f"{row['recipe']} {'failed' if row['mean'] is None else format(row['mean'], '.4g')}"
            f" (band {row['band']['text']})"
            for row in failing
        ]
        # One seed is one draw: say how to tell a real miss from run-to-run noise.
        spread = (
            "; one seed each: `--seeds 5` shows the run-to-run spread"
            if results["seeds"] == 1
            else ""
        )
        raise TrainingFailed(
            f"{len(failing)} recipe(s) missed the book: {'; '.join(parts)}; see {report_path}"
            f"{spread}"
        )


def write_reports(results: dict, out: Path) -> None:
    from d2lkit.report.markdown import render_report
    from d2lkit.report.summary_chart import plot_summary

    write_json_atomic(out / "results.json", results)
    chart = plot_summary(results, out / "summary.png")
    write_text_atomic(out / "REPORT.md", render_report(results, chart.name if chart else None))
