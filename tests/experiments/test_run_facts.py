from d2lkit.experiments.common import run_facts


def summary(wall_s: float, images_per_s: float) -> dict:
    return {
        "wall_s": wall_s,
        "train_images_per_s": images_per_s,
        "device": "cpu",
        "precision": "fp32",
    }


def test_speed_is_all_images_over_all_seconds_not_a_mean_of_rates():
    # A long pretraining at 1000 img/s (90 s) and a short fine-tuning at 100 img/s (10 s):
    # 91,000 images in 100 s, not the 550 img/s a plain mean gives.
    facts = run_facts(summary(90, 1000), summary(10, 100))
    assert facts["wall_s"] == 100
    assert facts["train_images_per_s"] == 910


def test_runs_that_took_no_time_report_no_speed():
    assert run_facts(summary(0, 0), summary(0, 0))["train_images_per_s"] == 0.0
