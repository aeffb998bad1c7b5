"""Dataset sources (files on disk, downloads) and the loaders that batch them."""
