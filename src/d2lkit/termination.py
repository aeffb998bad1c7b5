"""SIGTERM (a batch scheduler's stop, `kill`) taken like Ctrl-C: the work stops at the next Python
step, and the same line says what was saved and how to continue, where the default ended the
process without a word. Exit code 143, as a process ended by SIGTERM reports.

Installed by `python -m d2lkit` before the CLI's imports (a second or two of torch) and by
`d2lkit.cli.main` for callers of its own; one object, so that both see the same signal.
"""

from __future__ import annotations

import signal
import threading


class Termination:
    """A context manager, re-entrant: the outermost `with` installs the handler (only over the
    default: a caller's own handler, or an inherited "ignore", stays) and removes it."""

    def __init__(self) -> None:
        self.received = False
        self.installed = False
        self.depth = 0

    def __enter__(self) -> Termination:
        if self.depth == 0:
            self.received = False
            # signal.signal works on the main thread only: main() called from another is left.
            on_main_thread = threading.current_thread() is threading.main_thread()
            if on_main_thread and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
                signal.signal(signal.SIGTERM, self.stop)
                self.installed = True
        self.depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self.depth -= 1
        if self.depth == 0 and self.installed:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self.installed = False

    def stop(self, signum: int, frame: object) -> None:
        # Once: a scheduler and torchrun's agent may each send one, and a second arriving while
        # the first is being handled would cut its message short (SIGKILL follows if need be).
        if not self.received:
            self.received = True
            raise KeyboardInterrupt

    def exit_code(self, code: int) -> int:
        """The exit code of an interrupted command (130) when SIGTERM interrupted it: 143."""
        return 128 + signal.SIGTERM if code == 130 and self.received else code


TERMINATION = Termination()
