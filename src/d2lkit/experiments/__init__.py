"""The computer-vision chapter's experiments that are more than one training run.

Each runner takes a `TrainConfig` (the settings the experiment varies around), an output folder
and its own options, writes one run directory per training run under that folder plus a
`summary.json` that compares them, and returns that summary. Runs that already finished are
reused, so an interrupted experiment picks up where it stopped.
"""
