"""What the docs point at: headings and their anchors, relative links, the README's book table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from guide_runner import FENCE

LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`]+)`")
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*#*\s*$")


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) for every line outside fenced code blocks."""
    lines, fence = [], None
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if fence is None and match:
            fence = match["fence"]
        elif fence is not None and match and match["fence"].startswith(fence):
            fence = None
        elif fence is None:
            lines.append((number, line))
    return lines


def github_anchor(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = title.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    found = set()
    for _, line in prose_lines(text):
        match = HEADING.match(line)
        if match:
            found.add(github_anchor(match["title"]))
    return found


def relative_links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of links to files in the repository (not http, not mailto)."""
    links = []
    for number, line in prose_lines(text):
        for match in LINK.finditer(line):
            target = match["target"]
            if not re.match(r"^[a-z]+:", target):
                links.append((number, target))
    return links


def broken_link(source: Path, target: str) -> str | None:
    """Why a relative link from `source` does not resolve, or None when it does."""
    path_part, _, anchor = target.partition("#")
    path = (source.parent / path_part).resolve() if path_part else source
    if not path.exists():
        return f"{target}: no such file {path}"
    if anchor and path.suffix == ".md" and anchor not in anchors(path.read_text(encoding="utf-8")):
        return f"{target}: {path.name} has no heading with the anchor #{anchor}"
    return None


@dataclass(frozen=True)
class TableRow:
    line: int
    section: str
    references: list[str]  # the code spans of the "d2lkit command or API" column
    guide_links: list[str]


def section_table(text: str, heading: str) -> list[TableRow]:
    """The rows of the first Markdown table under the `## heading` section."""
    rows: list[TableRow] = []
    in_section = False
    for number, line in prose_lines(text):
        match = HEADING.match(line)
        if match:
            if in_section:
                break
            in_section = match["title"] == heading
            continue
        if not in_section or not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or set(cells[0]) <= set("-: ") or cells[0] == "book section":
            continue
        rows.append(
            TableRow(
                number,
                cells[0],
                CODE_SPAN.findall(cells[1]),
                [m["target"] for m in LINK.finditer(cells[2])],
            )
        )
    return rows
