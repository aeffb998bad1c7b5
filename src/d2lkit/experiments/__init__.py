"""The book's experiments that are more than one training run, or not a run of the trainer at all
(linear regression judged by its weights, weight decay, the optimiser comparison, augmentation,
fine-tuning). The recipes register them as kinds (d2lkit.recipes.kinds).

Each runner takes its settings (a `TrainConfig` for those that train, plain values for the book's
hand-written loops) and an output folder, writes its runs plus a `summary.json` there, and returns
that summary. Those that train reuse the runs that already finished, so an interrupted experiment
picks up where it stopped; the hand-written loops take seconds and run again.
"""
