"""REPORT.md and the README's "Results" block, rendered from a results dict (DIR/results.json)."""

from __future__ import annotations

from pathlib import Path

from d2lkit.atomic import write_text_atomic
from d2lkit.errors import D2lkitError

README_BEGIN = "<!-- d2lkit-results:begin -->"
README_END = "<!-- d2lkit-results:end -->"
STATUS_MARKS = {"below band": "**below band**", "failed": "**failed**"}


def number_format(value: float) -> str:
    """The format spec that shows `value` usefully: accuracies to 4 places, large ratios whole,
    tiny errors in scientific notation."""
    magnitude = abs(value)
    if magnitude >= 100:
        return ",.0f"
    if magnitude >= 0.01 or magnitude == 0:
        return ".4f"
    return ".2e"


def format_result(row: dict, seeds: int) -> str:
    """ "0.7932", or "0.7932 ± 0.0021" over several seeds (the std in the mean's format), with
    "(2 of 3 seeds)" when some of the `seeds` asked for did not finish."""
    if row["mean"] is None:
        return "failed" if row["failures"] else "-"
    spec = number_format(row["mean"])
    text = format(row["mean"], spec)
    if row["std"] is not None:
        text += f" ± {format(row['std'], spec)}"
    if len(row["values"]) < seeds:
        text += f" ({len(row['values'])} of {seeds} seeds)"
    return text


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 100:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s"


def format_rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:,.0f}"


def _escape(text: str) -> str:
    return text.replace("|", "\\|") if text else "-"


def results_table(results: dict, links: bool = True) -> str:
    header = [
        "Recipe",
        "Metric",
        "Book",
        "Ours",
        "Band",
        "Status",
        "Epochs",
        "Wall",
        "Images/s",
        "Device",
        "Comparable",
        "Deviation from the book's settings",
    ] + (["Curves"] if links else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in results["rows"]:
        device = f"{row['device']}, {row['precision']}" if row["device"] else "-"
        cells = [
            row["recipe"],
            row["metric_label"],
            row["book"]["text"],
            format_result(row, results["seeds"]),
            row["band"]["text"],
            STATUS_MARKS.get(row["status"], row["status"]),
            "-" if row["epochs"] is None else str(row["epochs"]),
            format_seconds(row["wall_s"]),
            format_rate(row["images_per_s"]),
            device,
            "yes" if row["comparable"] else "no",
            row["deviation"],
        ]
        if links:
            cells.append(f"[curves]({row['curves']})" if row["curves"] else "-")
        lines.append("| " + " | ".join(_escape(str(cell)) for cell in cells) + " |")
    return "\n".join(lines)


def tuned_table(results: dict) -> str | None:
    """Book, reproduced and tuned side by side, one line per network with a tuned twin."""
    by_name = {row["recipe"]: row for row in results["rows"]}
    tuned = [row for row in results["rows"] if row["tuned_from"]]
    if not tuned:
        return None
    lines = [
        "| Network | Book | Reproduced | Tuned | What the tuned recipe changes |",
        "|---|---|---|---|---|",
    ]
    for row in tuned:
        base = by_name.get(row["tuned_from"])
        seeds = results["seeds"]
        reproduced = format_result(base, seeds) if base else "-"
        cells = [row["tuned_from"], row["book"]["text"], reproduced, format_result(row, seeds)]
        cells.append(row["deviation"])
        lines.append("| " + " | ".join(_escape(cell) for cell in cells) + " |")
    return "\n".join(lines)


def machine_line(results: dict) -> str:
    facts = results.get("machine") or {}
    if not facts:
        return "Machine: not recorded."
    hardware = facts.get("cpu_model") or facts.get("processor") or "unknown CPU"
    hardware += f", {facts.get('cpu_count', '?')} CPU cores"
    hardware += f", GPU {facts['gpu']}" if facts.get("gpu") else ", no GPU"
    software = f"Python {facts.get('python', '?')}, torch {facts.get('torch', '?')}"
    version = f"d2lkit {facts.get('d2lkit', '?')}"
    if facts.get("git_revision"):
        version += f" (git {facts['git_revision']})"
    return f"Machine: {hardware}; {facts.get('platform', '')}; {software}, {version}."


def run_line(results: dict) -> str:
    date = (results.get("machine") or {}).get("date") or results["generated"][:10]
    seeds = results["seeds"]
    which = "seed 0" if seeds == 1 else f"seeds 0 to {seeds - 1} (mean ± sample standard deviation)"
    return (
        f"Profile `{results['profile']}`, {which}, run {date};"
        f" the recipes took {format_seconds(results['total_wall_s'])} in all."
    )


def render_report(results: dict, chart: str | None = None) -> str:
    parts = [
        f"# d2lkit reproduce: the book's results, profile `{results['profile']}`",
        machine_line(results),
        run_line(results),
        results_table(results),
    ]
    tuned = tuned_table(results)
    if tuned:
        parts += ["## Book, reproduced and tuned", tuned]
    if chart:
        parts.append(f"![ours vs the book]({chart})")
    parts += ["## Recipes", recipe_notes(results)]
    return "\n\n".join(parts) + "\n"


def recipe_notes(results: dict) -> str:
    lines = []
    for row in results["rows"]:
        book = row["book"]
        line = (
            f"- **{row['recipe']}**: {row['description']}. Book: {book['settings']} -> "
            f"{book['text']} ({book['source']})."
        )
        if row.get("details"):
            line += f" Ours: {row['details']}."
        for name, passed in row["checks"].items():
            line += f" Check '{name}': {'yes' if passed else '**no**'}."
        for failure in row["failures"]:
            line += f" Failed: {failure}"
        lines.append(line)
    return "\n".join(lines)


def readme_block(results: dict, command: str) -> str:
    parts = [machine_line(results), run_line(results), results_table(results, links=False)]
    tuned = tuned_table(results)
    if tuned:
        parts.append(tuned)
    parts.append(f"Generated by `{command}`; do not edit by hand.")
    return "\n\n".join(parts)


def check_readme(readme: Path) -> tuple[str, int, int]:
    """The README's text and where its results block begins and ends, or one clear error."""
    if not readme.is_file():
        raise D2lkitError(f"{readme}: not a file; pass the README to update with --readme")
    try:
        text = readme.read_text(encoding="utf-8")
    except UnicodeDecodeError:  # a binary file, or a README in another encoding
        raise D2lkitError(
            f"{readme}: not UTF-8 text; pass the README to update with --readme (save it as UTF-8)"
        ) from None
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        raise D2lkitError(
            f"{readme}: no results block; add the lines {README_BEGIN} and {README_END} where"
            " the results should go"
        )
    return text, begin, end


def update_readme(readme: Path, block: str) -> None:
    """Replace what lies between the README's two results markers with `block`, atomically: a
    full disk must not cut the user's README short."""
    text, begin, end = check_readme(readme)
    head, tail = text[: begin + len(README_BEGIN)], text[end:]
    write_text_atomic(readme, f"{head}\n{block}\n{tail}")
