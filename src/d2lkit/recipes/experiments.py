"""The kinds of the book's experiments that are more than one training run (or not a run of the
trainer at all): linear regression judged by the weights it recovers, the weight-decay experiment,
and the optimiser comparison. Each registers its options and runner here; the experiment itself is
in d2lkit.experiments."""

from __future__ import annotations

from d2lkit.experiments.linreg import record_learned_weights, run_linreg_scratch_experiment
from d2lkit.experiments.optimizers import run_optimizers_experiment
from d2lkit.experiments.weight_decay import run_weight_decay_experiment
from d2lkit.recipes.kinds import (
    Kind,
    RecipeRun,
    not_positive_integer,
    not_positive_number,
    register_kind,
)
from d2lkit.train.rerun import train_or_resume

# -- linreg: the concise version, trained by the trainer ---------------------------------------


def finish_linreg(run: RecipeRun, summary: dict) -> dict:
    return record_learned_weights(run.out, summary)


def run_linreg(run: RecipeRun) -> dict:
    return finish_linreg(run, train_or_resume(run.config, run.out))


register_kind(
    Kind(
        name="linreg",
        run=run_linreg,
        trains=True,
        single_run=True,
        finish=finish_linreg,
    )
)


# -- linreg-scratch: the book's hand-written loop ---------------------------------------------

LINREG_SCRATCH_DEFAULTS = {"epochs": 3, "batch_size": 10, "lr": 0.03, "num_examples": 1000}


def check_linreg_scratch(options: dict) -> str | None:
    problem = not_positive_integer(options, "epochs", "batch_size", "num_examples")
    return problem or not_positive_number(options, "lr")


def run_linreg_scratch(run: RecipeRun) -> dict:
    opts = run.options
    return run_linreg_scratch_experiment(
        run.out, run.seed, opts["epochs"], opts["batch_size"], opts["lr"], opts["num_examples"]
    )


register_kind(
    Kind(
        name="linreg-scratch",
        run=run_linreg_scratch,
        trains=False,
        single_run=False,
        option_defaults=LINREG_SCRATCH_DEFAULTS,
        check_options=check_linreg_scratch,
    )
)


# -- weight decay: high-dimensional linear regression with and without the L2 penalty ---------

WEIGHT_DECAY_DEFAULTS = {"penalty": 3.0, "epochs": 100}


def check_weight_decay(options: dict) -> str | None:
    return not_positive_number(options, "penalty") or not_positive_integer(options, "epochs")


def run_weight_decay(run: RecipeRun) -> dict:
    options = run.options
    return run_weight_decay_experiment(
        run.out, run.seed, options["epochs"], float(options["penalty"])
    )


register_kind(
    Kind(
        name="weight-decay",
        run=run_weight_decay,
        trains=False,
        single_run=False,
        option_defaults=WEIGHT_DECAY_DEFAULTS,
        check_options=check_weight_decay,
    )
)


# -- optimizers: the same network trained with each of the book's optimisers -----------------

OPTIMIZER_DEFAULTS: dict = {"optimizers": ()}


def check_optimizers(options: dict) -> str | None:
    from d2lkit.train.optim import OPTIMIZERS

    pairs = options["optimizers"]
    if not pairs:
        return "option 'optimizers' must list (name, lr) pairs"
    for pair in pairs:
        if len(pair) != 2 or pair[0] not in OPTIMIZERS:
            return f"option 'optimizers': {pair!r} is not (one of {', '.join(OPTIMIZERS)}, lr)"
        if not isinstance(pair[1], int | float) or not pair[1] > 0:
            return f"option 'optimizers': the lr of {pair[0]} must be positive, got {pair[1]!r}"
    return None


def run_optimizers(run: RecipeRun) -> dict:
    return run_optimizers_experiment(run.config, run.out, run.options["optimizers"])


register_kind(
    Kind(
        name="optimizers",
        run=run_optimizers,
        trains=True,
        single_run=False,
        option_defaults=OPTIMIZER_DEFAULTS,
        check_options=check_optimizers,
    )
)
