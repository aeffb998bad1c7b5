"""`d2lkit predict` on a regression run draws predicted against true targets (it used to crash
indexing class names with a float target)."""

from __future__ import annotations

import math

import pytest

from d2lkit.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def linreg_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("linreg") / "run"
    assert main(["train", "--recipe", "linreg", "--no-progress", "--out", str(out)]) == 0
    return out


def test_the_scatter_is_written_and_its_rmse_is_the_test_loss(linreg_run, tmp_path, monkeypatch):
    import d2lkit.report.scatter as scatter
    from d2lkit.train.trained import load_trained

    drawn = {}
    save = scatter.save_regression_scatter

    def recording(true, predicted, title, out):
        drawn.update(true=true, predicted=predicted, title=title)
        return save(true, predicted, title, out)

    monkeypatch.setattr(scatter, "save_regression_scatter", recording)
    out = tmp_path / "scatter.png"
    assert main(["predict", str(linreg_run), "--out", str(out), "--count", "1000"]) == 0
    assert out.read_bytes()[:8] == PNG_SIGNATURE

    # Over the whole test set (1000 examples), RMSE squared is the MSE that eval reports.
    run, _ = load_trained(linreg_run)
    test_loss = run.trainer.evaluate()["loss"]
    rmse = float(drawn["title"].rsplit("RMSE ", 1)[1])
    assert drawn["title"].startswith("linreg: 1000 test examples")
    assert math.isclose(rmse, math.sqrt(test_loss), rel_tol=1e-3)
    assert drawn["true"].shape[0] == drawn["predicted"].shape[0] == 1000
