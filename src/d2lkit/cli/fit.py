"""`d2lkit fit polynomial`: the model-selection section's polynomial fitting, from the scratch
code in d2lkit.scratch.polyfit."""

from __future__ import annotations

import argparse

from d2lkit.cli.counts import seed_number

GUIDE = "Guide: docs/basics.md (model selection, underfitting and overfitting)."
SHOWN_WEIGHTS = 4  # the cubic's; an overfitting fit's other 16 are printed as their largest


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fit", help="model selection: fits of too little, right and too much capacity", epilog=GUIDE
    )
    commands = parser.add_subparsers(dest="fit_command", required=True, metavar="EXPERIMENT")
    polynomial = commands.add_parser(
        "polynomial",
        help="the book's polynomial fitting: a cubic fitted with 4 features (normal), 2"
        " (underfitting) and 20 (overfitting)",
        description="Labels y = 5 + 1.2x - 3.4x^2/2! + 5.6x^3/3! + N(0, 0.1^2) for x ~ N(0, 1);"
        " a linear model without bias on the features x^i/i! is trained by SGD (lr 0.01, batch"
        " 10) on 100 samples and tested on 100 others, given the first 4 features (400 epochs),"
        " the first 2 (400 epochs) and all 20 (1500 epochs). Prints each fit's learned weights"
        " and final losses.",
        epilog=GUIDE,
    )
    polynomial.add_argument(
        "--out", help="also draw each fit's train and test loss per epoch into this PNG file"
    )
    polynomial.add_argument(
        "--seed",
        type=seed_number,
        default=0,
        help="random seed of the data, the initial weights and the batch order (default 0)",
    )
    polynomial.set_defaults(handler=run_polynomial)


def run_polynomial(args: argparse.Namespace) -> int:
    from d2lkit.report.figures import figure_path
    from d2lkit.scratch.polyfit import BOOK_FITS, PolyFitSettings, fit_polynomial

    # A bad --out fails before the training.
    out = figure_path(args.out) if args.out is not None else None
    settings = PolyFitSettings(seed=args.seed)
    true_w = " ".join(f"{w:g}" for w in settings.true_w)
    print(
        f"polynomial regression, true weights {true_w} on x^i/i!, noise {settings.noise}; "
        f"{settings.n_train} training and {settings.n_test} test samples, "
        f"batch {settings.batch_size}, lr {settings.lr}"
    )
    print(
        f"{'fit':12s} {'features':>8s} {'epochs':>6s} {'train loss':>10s} {'test loss':>10s}"
        f"  weights (first {SHOWN_WEIGHTS}; largest |w| of the rest)"
    )
    results = {}
    for fit in BOOK_FITS:
        result = results[fit.name] = fit_polynomial(fit, settings)
        weights = " ".join(f"{w:7.3f}" for w in result.weights[:SHOWN_WEIGHTS])
        rest = result.weights[SHOWN_WEIGHTS:]
        if rest:
            weights += f"; {max(abs(w) for w in rest):.3f}"
        print(
            f"{fit.name:12s} {fit.num_features:8d} {fit.epochs:6d} {result.train_loss:10.4g}"
            f" {result.test_loss:10.4g}  {weights}"
        )
    if out:
        from d2lkit.report.polyfit import plot_polynomial_fits

        print(f"wrote {plot_polynomial_fits(results, out)}")
    return 0
