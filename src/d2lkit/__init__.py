"""d2lkit: the "Dive into Deep Learning" curriculum as installable, tested software."""

__version__ = "0.1.0"
