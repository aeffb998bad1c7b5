"""`d2lkit --help` and the help of every subcommand, at every depth, end with a pointer to a guide
that exists, and show every default that the code sets."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from markdown_refs import broken_link

from d2lkit.cli import build_parser

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDE_REFERENCE = re.compile(r"docs/[\w-]+\.md(?:#[\w-]+)?")


def all_parsers(parser: argparse.ArgumentParser, name: str = "d2lkit"):
    """(command line, parser) for the parser and every subparser below it."""
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub_parser in action.choices.items():
                yield from all_parsers(sub_parser, f"{name} {sub_name}")


def test_every_help_ends_with_an_existing_guide():
    parsers = list(all_parsers(build_parser()))
    assert len(parsers) > 3  # the walk reached the subcommands (data info, data show, ...)
    for command, parser in parsers:
        guides = GUIDE_REFERENCE.findall(parser.epilog or "")
        assert guides, f"`{command} --help` does not end with a guide (epilog: {parser.epilog!r})"
        for guide in guides:  # a file, and the heading its #anchor names
            problem = broken_link(DOCS / "README.md", guide.removeprefix("docs/"))
            assert problem is None, f"`{command}`: {problem}"
        # argparse re-wraps the epilog to the terminal width: compare words, not lines.
        help_words, epilog_words = parser.format_help().split(), parser.epilog.split()
        assert help_words[-len(epilog_words) :] == epilog_words, (
            f"`{command} --help` ends otherwise"
        )


def test_every_default_set_in_the_parser_is_shown_in_its_help():
    """A default the parser fills in (bench --out runs/bench, data show --split train) that the
    help leaves out, or gives wrong, is a setting the user cannot see. Flags whose default is
    None or False are "not given", resolved elsewhere, and say so in their own words."""
    unshown = []
    for command, parser in all_parsers(build_parser()):
        for action in parser._actions:
            if action.default is None or action.default is False:
                continue
            if action.default == argparse.SUPPRESS:  # --help, the subcommand slot
                continue
            values = action.default if isinstance(action.default, list) else [action.default]
            shown = " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)
            help_text = " ".join((action.help or "").split())  # as the terminal wraps it
            if "default" not in help_text or shown not in help_text:
                name = "/".join(action.option_strings) or action.dest
                unshown.append(f"{command} {name} (default {shown})")
    assert unshown == []
