import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # The suite runs as two pytest-xdist workers on two cores: one torch thread each.
    torch.set_num_threads(1)
    yield
