"""`d2lkit reproduce`: the book's results table, reproduced in one command."""

from __future__ import annotations

import argparse
from pathlib import Path

from d2lkit.cli.counts import folder_name
from d2lkit.errors import D2lkitError
from d2lkit.text import announce
from d2lkit.train.config import DEVICES

GUIDE = "Guide: docs/basics.md and docs/cnn.md (the book's experiments as recipes)."
PROFILE_CHOICES = ("auto", "cpu", "book")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reproduce",
        help="run the book's experiments and write a report",
        description="Run recipes (the book's experiments with its settings and reported figures)"
        " into DIR/<recipe>/, then write DIR/REPORT.md, DIR/results.json and, when a recipe reports"
        " an accuracy, DIR/summary.png (ours against the book's)."
        " Finished recipes in DIR are kept, so an interrupted run continues where it stopped."
        " Exit code 1 when a comparable result misses the book's band.",
        epilog=GUIDE,
    )
    parser.add_argument("--only", help="comma-separated recipe names (default: every recipe)")
    parser.add_argument(
        "--profile",
        choices=PROFILE_CHOICES,
        default="auto",
        help="book: the book's exact settings (for a GPU); cpu: fits a 2-core CPU, changes stated"
        " in the report; auto (default): the profile of the runs already in --out, else book"
        " where the recipes train on CUDA (see --device), else cpu; one --out holds one profile",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        help="seeds per recipe, 1 to 100 (default 1; with --report-only, as DIR's runs were made)",
    )
    parser.add_argument(
        "--data-dir", help="look for Fashion-MNIST here first (the recipes that train on it)"
    )
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where the recipes train (default auto: CUDA when present); a run continued in DIR"
        " may take another",
    )
    parser.add_argument(
        "--readme", help="also write the results table into this README's results block"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: rebuild the report from the finished runs in --out",
    )
    # Every run writes into --out; only --list runs nothing, so one of the two is required.
    needed = parser.add_mutually_exclusive_group(required=True)
    needed.add_argument("--out", type=folder_name, help="directory of the runs and the report")
    needed.add_argument("--list", action="store_true", help="list the recipes and exit")
    parser.set_defaults(handler=run_reproduce)


# Seeds per recipe. --report-only looks for each seed's folder: 10**11 of them was an hour-long
# silence; a hundred runs of one recipe are already more than a report needs.
MAX_SEEDS = 100


def selected_names(only: str | None) -> list[str]:
    from d2lkit.recipes import get_recipe, list_recipes

    if only is None:
        return list_recipes()
    names = [name.strip() for name in only.split(",") if name.strip()]
    if not names:
        raise D2lkitError("--only names no recipe; e.g. --only lenet,softmax")
    for name in names:
        get_recipe(name)  # an unknown name is an error before anything runs
    return list(dict.fromkeys(names))


def print_recipe_list(profile: str) -> None:
    from d2lkit.recipes import get_recipe, list_recipes, missing_requirements
    from d2lkit.recipes.kinds import get_kind

    print(f"{'recipe':20s} {'book':>8s}  {'cpu profile':15s} description")
    for name in list_recipes():
        recipe = get_recipe(name)
        book = "-" if recipe.book.value is None else f"{recipe.book.value:.4g}"
        cpu = "book settings" if not recipe.cpu.note else (
            "comparable" if recipe.cpu.comparable else "not comparable"
        )  # fmt: skip
        missing = missing_requirements(recipe, profile)
        needs = f"  [needs {', '.join(missing)}]" if missing else ""
        # `d2lkit train --recipe` runs one training run; the others only reproduce runs.
        several = "" if get_kind(recipe.kind).single_run else "  [reproduce only]"
        print(f"{name:20s} {book:>8s}  {cpu:15s} {recipe.description}{several}{needs}")


def check_where(data_dir: str | None, device: str) -> None:
    """A --data-dir typo or --device cuda without a GPU is one line now, not a failure of each
    recipe in turn."""
    from d2lkit.data.fashion_mnist import check_data_dir
    from d2lkit.train.environment import resolve_device

    check_data_dir(data_dir)
    resolve_device(device)


def chosen_profile(args: argparse.Namespace) -> str:
    """--profile, with auto resolved for --device; but a folder that already holds runs keeps
    their profile under auto, so that the same command continues it on another device (or
    reports it on another machine) instead of refusing every run as another profile's."""
    from d2lkit.recipes import resolve_profile
    from d2lkit.report.reproduce import profiles_in

    profile = resolve_profile(args.profile, args.device)
    kept = profiles_in(Path(args.out)) if args.out else set()
    if len(kept) == 1 and profile not in kept:
        other = kept.pop()
        if args.profile != "auto":  # one report of two profiles would compare unlike runs
            raise D2lkitError(
                f"{args.out}: holds runs of the {other} profile; one folder holds one profile:"
                f" pass --profile {other}, or reproduce into another --out"
            )
        profile = other
        print(f"{args.out} holds runs of the {profile} profile: continuing with it")
    return profile


def report_held_runs(
    out: Path, names: list[str], profile: str, seeds: int | None, only: str | None
) -> tuple[dict, list[str], int]:
    """--report-only: the report of the runs of `names` that DIR holds, made again; the results,
    the recipes reported and their seed count."""
    from d2lkit.recipes import get_recipe
    from d2lkit.report.reproduce import check_seed_layout, claim_report_files, seeds_in
    from d2lkit.report.results import collect_results, write_reports

    if out.exists() and not out.is_dir():
        raise D2lkitError(f"{out}: a file; pass the folder that reproduce ran into")
    held = [name for name in names if (out / name).is_dir()]
    if not held:  # a bare `reproduce --out DIR` would run every recipe: hours
        raise D2lkitError(
            f"{out}: holds no recipe runs; run some into it first, e.g. `d2lkit reproduce --only"
            f" {only or 'softmax,lenet'} --out {out}`"
        )
    if only and held != names:  # a report of "not run" rows would replace DIR's
        missing = ", ".join(name for name in names if name not in held)
        raise D2lkitError(f"{out}: holds no runs of {missing}; drop them from --only")
    claim_report_files(out)
    seeds = seeds or seeds_in(out, held)
    for name in held:
        check_seed_layout(out, name, seeds)
    results = collect_results([get_recipe(name) for name in held], profile, seeds, out)
    write_reports(results, out)
    unfinished = [row["recipe"] for row in results["rows"] if row["status"] == "unfinished"]
    if unfinished:  # interrupted, or a summary.json deleted; --only all: the report stays whole
        announce(
            f"note: {', '.join(unfinished)} unfinished in {out}; `d2lkit reproduce --out {out}"
            f" --only {','.join(held)}{f' --seeds {seeds}' if seeds > 1 else ''}` finishes"
            f" {'it' if len(unfinished) == 1 else 'them'} and keeps the rest"
        )
    return results, held, seeds


def run_reproduce(args: argparse.Namespace) -> int:
    from d2lkit.recipes import list_recipes
    from d2lkit.report.markdown import check_readme, readme_block, update_readme
    from d2lkit.report.reproduce import reproduce
    from d2lkit.report.results import raise_if_failing

    if args.data_dir is not None and (args.list or args.report_only):
        what = "--list" if args.list else "--report-only"
        raise D2lkitError(
            f"--data-dir is where the recipes' training reads; {what} trains nothing: drop it"
        )
    profile = chosen_profile(args)
    if args.list:
        print_recipe_list(profile)
        return 0
    if args.seeds is not None and not 1 <= args.seeds <= MAX_SEEDS:
        raise D2lkitError(f"--seeds must be 1 to {MAX_SEEDS} (runs per recipe), got {args.seeds}")
    out = Path(args.out)
    names = selected_names(args.only)
    if args.readme:
        check_readme(Path(args.readme))  # before hours of runs, not after
    if args.report_only:
        results, names, seeds = report_held_runs(out, names, profile, args.seeds, args.only)
    else:
        seeds = args.seeds or 1
        check_where(args.data_dir, args.device)
        print(f"reproducing {len(names)} recipe(s) with the {profile} profile into {out}")
        try:
            results = reproduce(
                names, profile, seeds, out, say=print, data_dir=args.data_dir, device=args.device
            )
        except KeyboardInterrupt:  # the CLI prints this beside "interrupted"
            raise KeyboardInterrupt(
                "run the same command again: finished recipes are kept and the interrupted one"
                " continues from its last saved epoch, if it saved one"
            ) from None
    report = out / "REPORT.md"
    print(f"report: {report}  (results: {out / 'results.json'})")
    left_out = [name for name in list_recipes() if name not in names and (out / name).is_dir()]
    if left_out:  # the report is of --only's recipes; DIR's earlier REPORT.md had these too
        announce(
            f"note: {out} also holds runs of {', '.join(left_out)}, left out of this report by"
            f" --only; `d2lkit reproduce --report-only --out {out}` reports them all"
        )
    if args.readme:
        command = (
            f"d2lkit reproduce --profile {profile} --only {','.join(names)}"
            f"{f' --seeds {seeds}' if seeds > 1 else ''} --out {out}"
            f"{' --report-only' if args.report_only else ''} --readme {args.readme}"
        )
        update_readme(Path(args.readme), readme_block(results, command))
        print(f"updated the results block of {args.readme}")
    raise_if_failing(results, report)
    return 0
