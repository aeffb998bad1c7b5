"""The `d2lkit` command line: parses arguments, calls the library, turns errors into messages.

Each subcommand lives in its own module with an `add_parser(subparsers)` function.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import signal
import sys
import threading
from typing import NoReturn

from d2lkit import __version__
from d2lkit.cli import augment, bench, data, fit, models, optim, reproduce, speedrun, train
from d2lkit.cli.help import complete_help
from d2lkit.errors import D2lkitError, DownloadFailed, TrainingFailed

COMMANDS = [data, train, models, fit, optim, augment, reproduce, bench, speedrun]

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
    return "free memory (other programs, other runs) or use a machine with more"


class Termination:
    """SIGTERM (a batch scheduler's stop, `kill`) taken like Ctrl-C: the work stops at the next
    Python step, and the same line says what was saved and how to continue, where the default
    ended the process without a word."""

    def __init__(self) -> None:
        self.received = False
        self.installed = False

    def __enter__(self) -> Termination:
        # Only over the default: a handler of the caller's own (or an inherited "ignore") stays,
        # as does main() called from another thread than the main one, where none can be set.
        on_main_thread = threading.current_thread() is threading.main_thread()
        if on_main_thread and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, self.stop)
            self.installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self.installed:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def stop(self, signum: int, frame: object) -> None:
        # Once: a scheduler and torchrun's agent may each send one, and a second arriving while
        # the first is being handled would cut its message short (SIGKILL follows if need be).
        if not self.received:
            self.received = True
            raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    with Termination() as termination:
        code = run_command(argv)
    if code == 130 and termination.received:
        return 128 + signal.SIGTERM  # 143, as a process ended by SIGTERM reports
    return code


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
