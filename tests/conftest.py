import os

import pytest
import torch

# model.memory_format=auto measures both layouts once per machine (gankit.tuning); the suite pins the
# choice instead (subprocesses inherit it), so no test pays for a measurement or depends on one.
os.environ.setdefault("GANKIT_MEMORY_FORMAT", "channels_last")


@pytest.fixture(autouse=True)
def _one_thread():
    # The suite runs as two pytest-xdist workers on two cores: one torch thread each.
    torch.set_num_threads(1)
    yield
