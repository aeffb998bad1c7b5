"""Reports and pictures: sample grids, training curves, the reproduce report."""
