"""Shared settings for the model tests."""

import pytest
import torch

# Smallest input sides at which the book's layers still reduce to a valid map (their global
# pools make these work). Tests that only need every layer to run use them to save CPU time;
# alexnet and vgg11 keep 224 because their classifiers expect a fixed 5x5 / 7x7 map.
SMALL_SIDES = {"nin": 96, "googlenet": 32, "resnet18": 32, "densenet": 32, "fcn_resnet18": 32}


@pytest.fixture(scope="session")
def small_sides() -> dict[str, int]:
    return SMALL_SIDES


@pytest.fixture(autouse=True)
def one_thread():
    """Batches of one or two images gain nothing from a second thread, and on a busy machine
    the threads' barriers cost far more than the work: GoogLeNet forward + backward on two
    32x32 images took 0.1 s on one thread and 2.7 s on two while other jobs ran."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
