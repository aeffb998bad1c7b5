"""`d2lkit fit polynomial` through the CLI's main()."""

import pytest
from cli_helpers import assert_one_line_error, run_cli

from d2lkit.scratch import polyfit

# The book's three fits, shortened: the command's output and figure, not the learning, are tested
# here (tests/scratch/test_scratch_polyfit.py trains the real ones).
SHORT_FITS = (
    polyfit.Fit("normal", 4, 30),
    polyfit.Fit("underfitting", 2, 30),
    polyfit.Fit("overfitting", 20, 45),
)


@pytest.fixture
def short_fits(monkeypatch):
    monkeypatch.setattr(polyfit, "BOOK_FITS", SHORT_FITS)


def printed_rows(out: str) -> dict[str, list[str]]:
    """The table's rows by fit name: features, epochs, train loss, test loss, weights..."""
    rows = [line.split() for line in out.splitlines()[2:] if not line.startswith("wrote")]
    return {row[0]: row[1:] for row in rows}


def test_prints_each_fits_weights_and_losses(short_fits, capsys):
    code, out, err = run_cli(["fit", "polynomial"], capsys)
    assert code == 0 and err == ""
    assert out.startswith("polynomial regression, true weights 5 1.2 -3.4 5.6 on x^i/i!")
    rows = printed_rows(out)
    assert list(rows) == ["normal", "underfitting", "overfitting"]
    assert rows["normal"][:2] == ["4", "30"] and rows["overfitting"][:2] == ["20", "45"]
    assert len(rows["normal"][4:]) == 4 and len(rows["underfitting"][4:]) == 2
    # The overfitting fit shows its first 4 weights, then the largest |w| of the other 16.
    assert rows["overfitting"][7].endswith(";") and float(rows["overfitting"][8]) >= 0
    assert not any(line.startswith("wrote") for line in out.splitlines())


def test_draws_train_and_test_loss_of_each_fit_on_a_log_scale(
    short_fits, saved_figures, tmp_path, capsys
):
    out_file = tmp_path / "plots" / "polyfit.png"
    code, out, _ = run_cli(["fit", "polynomial", "--out", str(out_file)], capsys)
    assert code == 0 and out.strip().endswith(f"wrote {out_file}") and out_file.is_file()
    rows = printed_rows(out)
    (figure,) = saved_figures
    axes = figure.get_axes()
    assert [ax.get_title() for ax in axes] == [
        "normal: 4 features",
        "underfitting: 2 features",
        "overfitting: 20 features",
    ]
    for ax, fit in zip(axes, SHORT_FITS, strict=True):
        assert ax.get_yscale() == "log"
        assert [text.get_text() for text in ax.get_legend().get_texts()] == ["train", "test"]
        train, test = ax.get_lines()
        assert list(train.get_xdata()) == list(range(1, fit.epochs + 1))
        # Each curve ends at the loss the table prints (to its 4 significant digits).
        train_loss, test_loss = (float(value) for value in rows[fit.name][2:4])
        assert train.get_ydata()[-1] == pytest.approx(train_loss, rel=1e-3)
        assert test.get_ydata()[-1] == pytest.approx(test_loss, rel=1e-3)


def test_the_seed_changes_the_data(short_fits, capsys):
    runs = [printed_rows(run_cli(["fit", "polynomial", "--seed", s], capsys)[1]) for s in "001"]
    assert runs[0] == runs[1] != runs[2]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--out", "{tmp}"], "a folder; pass a file name"),
        (["--out", "{tmp}/fits.xyz"], "cannot draw a .xyz file"),
        (["--out", "{tmp}/fits.pgf"], "cannot draw a .pgf file"),  # needs LaTeX: failed after
        # A file where a folder was meant: savefig's NotADirectoryError came after the work.
        (["--out", "{tmp}/notes.txt/fits.png"], "notes.txt: a file stands where a folder is"),
        (["--seed", "-1"], "--seed"),
        # The subcommand's own help, which lists its flags (it pointed at `d2lkit --help`).
        (
            ["--bogus"],
            "d2lkit fit polynomial: error: unrecognized arguments: --bogus (see"
            " `d2lkit fit polynomial --help`)",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2_before_any_training(
    tmp_path, capsys, monkeypatch, argv, fragment
):
    def no_training(*args, **kwargs):
        raise AssertionError("trained before refusing the input")

    monkeypatch.setattr(polyfit, "fit_polynomial", no_training)
    (tmp_path / "notes.txt").write_text("a file")
    argv = ["fit", "polynomial", *(arg.format(tmp=tmp_path) for arg in argv)]
    code, out, err = run_cli(argv, capsys)
    assert_one_line_error(code, err, fragment)
    assert out == ""


def test_an_out_under_a_file_is_one_line_and_exit_code_2(short_fits, tmp_path, capsys):
    (tmp_path / "file.txt").write_text("x")
    code, _, err = run_cli(["fit", "polynomial", "--out", str(tmp_path / "file.txt/f.png")], capsys)
    assert_one_line_error(code, err, "file.txt")


def test_fit_needs_an_experiment(capsys):
    code, _, err = run_cli(["fit"], capsys)
    assert_one_line_error(code, err, "EXPERIMENT")
