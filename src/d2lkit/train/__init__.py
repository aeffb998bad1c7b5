"""Training: the loop, its callbacks, checkpoints, metrics and the run directory."""
