"""Set-up computations that must not depend on the machine's parallelism.

DESIGN.md's rule: *a seed fixes the run; threads, ranks and CPU change only the float-sum order
inside the step*. A threaded library splits a reduction by the number of threads it has, so a sum
taken with 1 and with 2 threads rounds differently: scikit-learn's k-means (OpenMP and BLAS
inside) returned centroids 5e-5 apart at 1 and 2 threads on ring8, and torchrun starts every rank
with one OpenMP thread, so a self-conditioned run trained another model under torchrun than in one
process. Whatever is computed once from the seed to set a run up (k-means clusters, the weight
average's BatchNorm statistics) runs inside ``one_thread()``: torch's intra-op pool, OpenMP and
every BLAS that threadpoolctl finds are held at one thread, and given back afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the body on one thread (torch, OpenMP, BLAS), whatever the process was given; restore after."""
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(before)
