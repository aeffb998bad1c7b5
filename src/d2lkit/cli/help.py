"""What every `--help` ends with: a line on what the command does and examples to copy.

The commands' modules declare their flags; the examples live here, one table for the whole CLI, so
a test can parse every one of them against the real parser.
"""

from __future__ import annotations

import argparse

EXAMPLES: dict[str, tuple[str, ...]] = {
    "d2lkit": (
        "d2lkit train lenet --epochs 5",
        "d2lkit reproduce --profile cpu --only softmax,lenet --out runs/book",
    ),
    "d2lkit data": ("d2lkit data info", "d2lkit data show --out samples.png"),
    "d2lkit data info": ("d2lkit data info --data-dir ~/datasets/fashion-mnist",),
    "d2lkit data show": (
        "d2lkit data show --out samples.png",
        "d2lkit data show imagefolder:photos --count 12 --out mine.png",
    ),
    "d2lkit data check": ("d2lkit data check imagefolder:photos",),
    "d2lkit data download": ("d2lkit data download",),
    "d2lkit train": (
        "d2lkit train lenet --epochs 5 --out runs/lenet",
        "d2lkit train --resume runs/lenet --epochs 10",
        "d2lkit train --recipe resnet --profile cpu",
        "d2lkit train resnet18 --dataset imagefolder:photos --resize 96 --augment",
    ),
    "d2lkit eval": ("d2lkit eval runs/lenet", "d2lkit eval runs/lenet --confusion confusion.png"),
    "d2lkit classify": (
        "d2lkit classify runs/photos new_photos/",
        "d2lkit classify runs/photos new_photos/ --top 3 --csv sorted.csv",
    ),
    "d2lkit predict": ("d2lkit predict runs/lenet --out predictions.png --seed 1",),
    "d2lkit models": ("d2lkit models list", "d2lkit models summary lenet"),
    "d2lkit models list": ("d2lkit models list 'res*'",),
    "d2lkit models summary": ("d2lkit models summary resnet18 --input-size 1 96 96",),
    "d2lkit fit": ("d2lkit fit polynomial --out polyfit.png",),
    "d2lkit fit polynomial": ("d2lkit fit polynomial --out polyfit.png",),
    "d2lkit optim": ("d2lkit optim trace --quick --out runs/optim",),
    "d2lkit optim trace": ("d2lkit optim trace --quick --out runs/optim",),
    "d2lkit optim weight-decay": ("d2lkit optim weight-decay --lambd 0 3 --out weight_decay.png",),
    "d2lkit augment": (
        "d2lkit augment --out augment.png",
        "d2lkit augment photo.jpg --methods flip-lr,resized-crop --out augment.png",
    ),
    "d2lkit reproduce": (
        "d2lkit reproduce --profile cpu --only softmax,lenet --out runs/book",
        "d2lkit reproduce --profile cpu --only mlp --seeds 3 --out runs/seeds",
    ),
    "d2lkit bench": ("d2lkit bench --quick",),
    "d2lkit speedrun": ("d2lkit speedrun --seeds 3",),
}


class LineKeepingFormatter(argparse.HelpFormatter):
    """Wraps each line of a description or epilog on its own (argparse joins them all into one
    paragraph), so that an example keeps its line and its indent."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            words = line.lstrip()
            own_indent = line[: len(line) - len(words)]
            lines.append(super()._fill_text(words, width, indent + own_indent) if words else "")
        return "\n".join(lines)


def complete_help(parser: argparse.ArgumentParser, summary: str | None = None) -> None:
    """Give `parser` and every subcommand under it a description (the one-line help its parent
    lists, when it has none of its own) and its examples before the epilog's guide."""
    parser.formatter_class = LineKeepingFormatter
    if parser.description is None and summary:
        # A help string is %-formatted by argparse and a description is not: "92 %%" -> "92 %".
        parser.description = summary[0].upper() + summary[1:].replace("%%", "%") + "."
    examples = EXAMPLES.get(parser.prog, ())
    if examples:
        lines = "\n".join(f"  {example}" for example in examples)
        guide = f"\n\n{parser.epilog}" if parser.epilog else ""
        parser.epilog = f"Examples:\n{lines}{guide}"
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            summaries = {choice.dest: choice.help for choice in action._choices_actions}
            for name, subparser in action.choices.items():
                complete_help(subparser, summaries.get(name))
