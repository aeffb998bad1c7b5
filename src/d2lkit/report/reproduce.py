"""`d2lkit reproduce`: run recipes into DIR/<recipe>/ (DIR/<recipe>/seed<k>/ for several seeds),
resumably, then gather their results into DIR/results.json, DIR/REPORT.md and DIR/summary.png.

A run directory is finished when its summary.json carries the recipe's name and result; such a run
is never redone. An interrupted one is handed back to its runner, which resumes or restarts it.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

from d2lkit.data.datasets import takes_option
from d2lkit.errors import D2lkitError, TrainingFailed
from d2lkit.jsonfile import read_json, write_json_atomic
from d2lkit.recipes import (
    Recipe,
    get_recipe,
    list_recipes,
    missing_requirements,
    recipe_config,
    recipe_options,
)
from d2lkit.recipes.kinds import RecipeRun, get_kind
from d2lkit.recipes.recipe import PROFILES
from d2lkit.report.markdown import format_seconds
from d2lkit.train.config import TrainConfig
from d2lkit.train.run_lock import writing

IDENTITY = "recipe.json"  # written before a run starts: which recipe, profile and settings
FAILURE = "failed.json"  # written when a run fails; removed when it is retried


def run_directory(out: Path, recipe: str, seed: int, seeds: int) -> Path:
    return out / recipe if seeds == 1 else out / recipe / f"seed{seed}"


def seed_count(folder: Path) -> int:
    """How many seeds DIR/<recipe> holds runs of, as its layout says: 1 when the run lies in it,
    k for seed0/ .. seed{k-1}/, 0 when nothing was run there yet."""
    if (folder / IDENTITY).is_file():
        return 1
    count = 0
    while (folder / f"seed{count}").is_dir():
        count += 1
    return count


def holds_seed_folders(folder: Path) -> bool:
    """Whether DIR/<recipe> keeps its runs in seed<k>/ (--seeds N, N > 1): seed0/ alone too, when
    such a reproduce stopped during its first seed."""
    return (folder / "seed0").is_dir()


def check_seed_layout(out: Path, recipe: str, seeds: int) -> None:
    """One seed lives in DIR/<recipe>/, several in its seed<k>/: a DIR run with one of the two
    cannot be continued or reported with the other."""
    folder = out / recipe
    found = seed_count(folder)
    if found and holds_seed_folders(folder) != (seeds > 1):
        if seeds > 1:
            raise D2lkitError(
                f"{folder}: holds a run of 1 seed, not {seeds}; pass --seeds 1, or another --out"
            )
        held = "seed0/" if found == 1 else f"seed0/ .. seed{found - 1}/"
        raise D2lkitError(
            f"{folder}: holds runs of several seeds ({held} so far), not 1; pass the --seeds"
            " they were run with, or another --out"
        )


def seeds_in(out: Path, names: Sequence[str]) -> int:
    """The seed count DIR's runs of `names` were made with (1 when none was run yet); with
    several counts (a 2-seed run later taken to 3), the largest."""
    counts = {name: count for name in names if (count := seed_count(out / name))}
    several = sorted(name for name in counts if holds_seed_folders(out / name))
    single = sorted(set(counts) - set(several))
    if single and several:  # made before reproduce refused to mix them in one DIR
        raise D2lkitError(
            f"{out}: holds one-seed runs ({', '.join(single)}) and runs of several seeds"
            f" ({', '.join(several)}); report each group with --only"
        )
    largest = max(counts.values(), default=1)
    if several and largest == 1:  # the count they were started with is nowhere to be read
        raise D2lkitError(
            f"{out}: its runs of several seeds stopped in their first seed; pass the --seeds"
            " they were run with"
        )
    return largest


def identity(recipe: Recipe, profile: str, seed: int) -> dict:
    config = recipe_config(recipe, profile, seed)
    settings = {
        "recipe": recipe.name,
        "profile": profile,
        "seed": seed,
        "config": None if config is None else config.to_dict(),
        "options": recipe_options(recipe, profile),
    }
    return json.loads(json.dumps(settings))  # as recipe.json will read back (tuples -> lists)


def is_reproduce_mark(recorded: dict) -> bool:
    """Whether a recipe.json is reproduce's (`identity`, which holds the run's seed) rather than
    `train --recipe`'s, which records its flag changes instead."""
    return "seed" in recorded


def profiles_in(out: Path) -> set[str]:
    """The profiles of reproduce's runs already in a folder (DIR/<recipe>/recipe.json, and
    DIR/<recipe>/seed<k>/recipe.json for several seeds); not `train --recipe`'s marks, which it
    leaves in runs/<model>-<time>/ for --out runs to hold. A damaged mark is left to the
    recipe's own check."""
    profiles = set()
    for mark in [*out.glob(f"*/{IDENTITY}"), *out.glob(f"*/seed*/{IDENTITY}")]:
        try:
            recorded = read_json(mark)
        except (D2lkitError, OSError):
            continue
        if is_reproduce_mark(recorded) and recorded.get("profile") in PROFILES:
            profiles.add(recorded["profile"])
    return profiles


def recorded_identity(run_dir: Path) -> dict | None:
    marker = run_dir / IDENTITY
    if not marker.is_file():
        return None
    try:
        return read_json(marker)
    except D2lkitError:  # without its mark the folder is not reproduce's: the whole run must go
        raise D2lkitError(
            f"{marker}: damaged, so which run {run_dir} holds is unknown; delete {run_dir} and"
            " run again"
        ) from None


def refuse_other_run(run_dir: Path, recorded: dict, expected: dict) -> None:
    profile = recorded.get("profile")
    if profile != expected["profile"] and profile in PROFILES:  # finished runs: keep them
        raise D2lkitError(
            f"{run_dir}: holds a run of the {profile} profile, not the {expected['profile']}"
            f" profile; reproduce into another --out, or move {run_dir} away"
        )
    raise D2lkitError(
        f"{run_dir}: holds a run of recipe {recorded.get('recipe')!r} with profile"
        f" {recorded.get('profile')!r} and other settings; reproduce into another --out"
        " or delete that directory"
    )


def finished_summary(run_dir: Path, expected: dict, strict: bool = False) -> dict | None:
    """The summary of a finished run of exactly these settings; None when there is none yet.
    A run of other settings (another profile, or a recipe changed since) is refused, not reused.
    A damaged summary.json is None (the run is redone from its checkpoint), or with `strict`
    (a report, which must not show a finished run as not run) one line naming it."""
    recorded = recorded_identity(run_dir)
    if recorded is None:
        return None
    if recorded != expected:
        refuse_other_run(run_dir, recorded, expected)
    path = run_dir / "summary.json"
    if not path.is_file():
        return None
    try:
        summary = read_json(path)
    except D2lkitError:
        if strict:
            raise
        return None  # a rerun writes it again from the run's checkpoint
    return summary if summary.get("recipe") == expected["recipe"] and "value" in summary else None


def claim_run_directory(run_dir: Path, expected: dict) -> None:
    """Make sure `run_dir` is ours for exactly this recipe, profile, seed and settings."""
    recorded = recorded_identity(run_dir)
    if recorded is not None and recorded != expected:
        refuse_other_run(run_dir, recorded, expected)
    if recorded is None and run_dir.is_dir() and any(run_dir.iterdir()):
        raise D2lkitError(
            f"{run_dir}: holds files `d2lkit reproduce` did not make; choose another --out"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / IDENTITY, expected)


def not_reproduces(path: Path) -> str | None:
    """Why DIR's report file `path` must not be replaced, or None when an earlier reproduce wrote
    it (REPORT.md opens with our heading; results.json and machine.json hold our keys) or it is
    empty, nothing to lose."""
    try:
        data = path.read_bytes()
    except OSError as err:
        return f"cannot be read ({err.strerror}), so whether reproduce wrote it is unknown"
    if not data.strip():
        return None
    if path.name == "REPORT.md":  # an editor may have saved it with a byte-order mark
        ours = data.decode("utf-8", "replace").lstrip("\ufeff").startswith("# d2lkit reproduce")
    else:
        keys = {"results.json": {"profile", "rows"}, "machine.json": {"d2lkit", "torch"}}
        try:
            recorded = json.loads(data)
        except ValueError:
            recorded = None
        ours = isinstance(recorded, dict) and keys[path.name] <= recorded.keys()
    return None if ours else "not written by `d2lkit reproduce`"


def claim_report_files(out: Path) -> None:
    """Refuse a DIR whose REPORT.md, results.json, machine.json or summary.png some other hand
    wrote (a project folder, or `--out .`): the report would replace them, after hours of runs or
    at once. A run directory of `d2lkit train` is refused too: the recipes' runs would be mixed
    into it."""
    if (out / "config.json").is_file() and (out / "checkpoint.pt").is_file():
        raise D2lkitError(
            f"{out}: a run directory of `d2lkit train`; reproduce into a folder of its own"
        )
    for name in ("REPORT.md", "results.json", "machine.json", "summary.png"):
        path = out / name
        if not path.exists():
            continue
        if name == "summary.png":  # drawn after results.json: without one, somebody else's
            why = None if (out / "results.json").exists() else "not written by `d2lkit reproduce`"
        else:
            why = not_reproduces(path)
        if why:
            raise D2lkitError(
                f"{path}: {why}; its report would replace it: choose another --out, or move the"
                " file away"
            )


def check_runnable(recipes: Sequence[Recipe], profile: str) -> None:
    problems = [
        f"{recipe.name} needs {', '.join(missing)}"
        for recipe in recipes
        if (missing := missing_requirements(recipe, profile))
    ]
    if problems:
        raise D2lkitError(
            "cannot run: " + "; ".join(problems) + " (not in this install yet); leave them out of"
            " --only"
        )


def progress_line(position: str, recipe: Recipe, summary: dict, note: str) -> str:
    book = recipe.book.text if recipe.book.value is None else f"{recipe.book.value:.4g}"
    return (
        f"{position} {recipe.name} ... {summary['value']:.4g} (book {book})"
        f" {format_seconds(summary.get('recipe_wall_s'))}  {note}"
    )


def session_config(
    recipe: Recipe, profile: str, seed: int, data_dir: str | None, device: str
) -> TrainConfig | None:
    """The recipe's training settings with where this session runs them: its --data-dir (for
    the datasets read from one) and --device. recipe.json's identity leaves both out, as they
    change no result: a run continues in the same DIR from another folder or on another device."""
    config = recipe_config(recipe, profile, seed, {"progress": False, "device": device})
    if config is not None and data_dir is not None and takes_option(config.dataset, "data_dir"):
        config = dataclasses.replace(config, data_dir=data_dir)
    return config


def run_recipe_seed(
    recipe: Recipe,
    profile: str,
    seed: int,
    run_dir: Path,
    data_dir: str | None = None,
    device: str = "auto",
) -> dict:
    """Run one (recipe, seed) into run_dir and stamp its summary as finished."""
    claim_run_directory(run_dir, identity(recipe, profile, seed))
    (run_dir / FAILURE).unlink(missing_ok=True)
    config = session_config(recipe, profile, seed, data_dir, device)
    options = recipe_options(recipe, profile)
    run = RecipeRun(recipe, profile, seed, run_dir, config, options, data_dir, device)
    started = time.perf_counter()
    try:
        summary = get_kind(recipe.kind).run(run)
    except TrainingFailed as err:
        write_json_atomic(run_dir / FAILURE, {"recipe": recipe.name, "error": str(err)})
        raise
    if recipe.metric not in summary:
        raise TrainingFailed(f"recipe {recipe.name!r}: its run reported no {recipe.metric!r}")
    summary = {
        **summary,
        "recipe": recipe.name,
        "profile": profile,
        "seed": seed,
        "value": summary[recipe.metric],
        # A resumed training run's wall_s also counts the sessions before this one.
        "recipe_wall_s": max(time.perf_counter() - started, summary.get("wall_s", 0.0)),
    }
    write_json_atomic(run_dir / "summary.json", summary)
    return summary


def judge(recipe: Recipe, profile: str, summary: dict) -> str:
    """The verdict on one seed's run, for its progress line (a miss in capitals)."""
    verdict = recipe.verdict(profile, summary["value"], summary.get("checks", {}).values())
    return verdict.upper() if verdict == "below band" else verdict


def reproduce(
    names: Sequence[str],
    profile: str,
    seeds: int,
    out: Path,
    say: Callable[[str], None] = print,
    data_dir: str | None = None,
    device: str = "auto",
) -> dict:
    """Run the named recipes (finished runs in `out` are kept) and write the report; `data_dir`
    and `device` say where this session finds Fashion-MNIST and trains."""
    from d2lkit.report.results import collect_results, write_reports

    if seeds < 1:
        raise D2lkitError(f"--seeds must be at least 1, got {seeds}")
    recipes = [get_recipe(name) for name in names]
    check_runnable(recipes, profile)
    claim_report_files(out)
    # One layout per DIR, so that its report can hold every recipe in it.
    for name in list_recipes():
        check_seed_layout(out, name, seeds)
    with writing(out):  # a second reproduce into DIR would train the same runs at once
        write_machine_facts(out, device)
        for index, recipe in enumerate(recipes, start=1):
            for seed in range(seeds):
                position = f"[{index}/{len(recipes)}]" + (
                    f" seed {seed + 1}/{seeds}" if seeds > 1 else ""
                )
                run_dir = run_directory(out, recipe.name, seed, seeds)
                summary = finished_summary(run_dir, identity(recipe, profile, seed))
                if summary is not None:
                    say(progress_line(position, recipe, summary, "(finished earlier, kept)"))
                    continue
                say(f"{position} {recipe.name}: {recipe.description} ({profile} profile) ...")
                try:
                    summary = run_recipe_seed(recipe, profile, seed, run_dir, data_dir, device)
                except TrainingFailed as err:
                    say(f"{position} {recipe.name} ... FAILED: {err}")
                    continue
                say(progress_line(position, recipe, summary, judge(recipe, profile, summary)))
        results = collect_results(recipes, profile, seeds, out)
        write_reports(results, out)
        return results


def write_machine_facts(out: Path, device: str = "auto") -> None:
    from d2lkit.train.environment import environment_facts, resolve_device

    facts = environment_facts(resolve_device(device))  # includes cpu_model
    facts["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    write_json_atomic(out / "machine.json", facts)
