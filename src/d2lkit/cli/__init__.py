"""The `d2lkit` command line: parses arguments, calls the library, turns errors into messages.

Each subcommand lives in its own module with an `add_parser(subparsers)` function.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import sys
from typing import NoReturn

from tqdm import tqdm

from d2lkit import __version__
from d2lkit.cli import (
    augment,
    bench,
    classify,
    data,
    fit,
    models,
    optim,
    reproduce,
    speedrun,
    train,
)
from d2lkit.cli.help import complete_help
from d2lkit.errors import D2lkitError, DownloadFailed, TrainingFailed
from d2lkit.termination import TERMINATION

COMMANDS = [data, train, classify, models, fit, optim, augment, reproduce, bench, speedrun]

GUIDES = "Guides: docs/README.md in the d2lkit repository, one per chapter of the book."


class OneLineParser(argparse.ArgumentParser):
    """argparse whose bad-flag message is one line (DESIGN.md §2), not a usage block that
    buries it; subcommand parsers inherit the class."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="d2lkit",
        description="Dive into Deep Learning (PyTorch) as a tool: data, models, training, "
        "the book's experiments.",
        epilog=GUIDES,
    )
    parser.add_argument("--version", action="version", version=f"d2lkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    name_each_command(parser)
    complete_help(parser)
    return parser


def name_each_command(parser: argparse.ArgumentParser) -> None:
    """Every (sub)command parser records its name ("d2lkit optim trace"): argparse leaves a flag
    no subcommand knows to the top parser, whose message pointed at `d2lkit --help`."""
    parser.set_defaults(command_prog=parser.prog)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                name_each_command(subparser)


def report_os_error(err: OSError) -> int:
    """An operating-system error as one line. A full disk is the work failing (exit 1; what was
    saved is kept); a path that cannot be read or written (an --out under a file, a read-only
    folder) is bad input (exit 2); anything else, with no path to blame (out of memory, too many
    open files), the work failing."""
    where = f"{err.filename}: " if err.filename else ""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        print(
            f"d2lkit: failed: {where}{err.strerror}; free some space and run the command again"
            " (files already saved, a run's checkpoints included, are kept)",
            file=sys.stderr,
        )
        return 1
    if not err.filename:
        print(f"d2lkit: failed: {err.strerror or err}", file=sys.stderr)
        return 1
    in_the_way = isinstance(err, (FileExistsError, NotADirectoryError))  # mkdir over a file
    reason = "a file stands where a folder is needed" if in_the_way else err.strerror or err
    print(f"d2lkit: error: {where}{reason}; check that path", file=sys.stderr)
    return 2


def out_of_memory(err: BaseException) -> str | None:
    """How much a failed allocation asked for ("37.3 GB"), "" when it does not say, or None when
    `err` is no out-of-memory error (torch's CUDA one, its CPU allocator's, Python's)."""
    text = str(err)
    cuda = type(err).__name__ == "OutOfMemoryError"
    if not (cuda or isinstance(err, MemoryError) or "can't allocate memory" in text):
        return None
    match = re.search(r"allocate (\d+) bytes|allocate ([\d.]+ [KMGT]iB)", text)
    if match is None:
        return ""
    if match[1] is None:
        return match[2]
    return f"{int(match[1]) / 1e9:.1f} GB"


def memory_advice(args: argparse.Namespace | None) -> str:
    """What to lower after running out of memory: only `train` (not a resume, which keeps its
    settings) has --batch-size and --resize."""
    if args is not None and args.command == "train" and not args.resume:
        return "lower --batch-size or --resize (or pick a smaller model)"
    if args is not None and args.command == "classify":
        return "lower --batch-size"
    return "free memory (other programs, other runs) or use a machine with more"


def main(argv: list[str] | None = None) -> int:
    # tqdm makes its lock on first use; an interrupt inside that left it half-made, and the bar's
    # next write failed with a traceback in place of the interrupt's line.
    tqdm.get_lock()
    never_fail_to_print()
    with TERMINATION:
        return TERMINATION.exit_code(run_command(argv))


def never_fail_to_print() -> None:
    """A file or class name that is not valid UTF-8 (its bytes kept as surrogates) or a
    character the terminal's encoding lacks is printed escaped, not raised as a traceback."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def run_command(argv: list[str] | None) -> int:
    args = None
    try:
        parser = build_parser()
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            prog, flags = args.command_prog, " ".join(unknown)
            message = f"{prog}: error: unrecognized arguments: {flags} (see `{prog} --help`)\n"
            parser.exit(2, message)
        return args.handler(args) or 0
    except D2lkitError as err:
        print(f"d2lkit: error: {err}", file=sys.stderr)
        return err.exit_code
    except (TrainingFailed, DownloadFailed) as err:
        print(f"d2lkit: failed: {err}", file=sys.stderr)
        return err.exit_code
    except BrokenPipeError:  # `d2lkit ... | head` stopped reading: nothing went wrong here
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # for the exit's flush
        return 0
    except OSError as err:
        return report_os_error(err)
    except (RuntimeError, MemoryError) as err:
        asked = out_of_memory(err)
        if asked is None:
            raise
        size = f" (an allocation of {asked} failed)" if asked else ""
        print(f"d2lkit: failed: out of memory{size}; {memory_advice(args)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as interrupt:  # its message, if any, says how to continue
        print(f"d2lkit: interrupted{f'; {interrupt}' if interrupt.args else ''}", file=sys.stderr)
        return 130
