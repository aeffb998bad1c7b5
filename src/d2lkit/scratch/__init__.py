"""The book's "from scratch" code: ops, layers, losses and optimisers written with plain tensor
operations (no torch.nn.functional), each proven equal to PyTorch's built-in in tests/scratch."""
