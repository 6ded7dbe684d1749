"""Running a fit's many small jobs on joblib's threads without the GIL in the way.

The fits prefer joblib's threads (:func:`fit_threads`): numpy and BLAS release
the GIL inside each operation, and a thread starts at once where a worker
process takes seconds (3.2 s for joblib's loky pool to start and import
scikit-learn on the benchmark machine, about the whole fit at 284,807 rows).
But numpy releases the GIL only inside an operation. A job on a few thousand
values spends most of its time in the interpreter between operations,
holding the GIL, and two such jobs on two threads hand it back and forth
more than they compute: two scikit-learn ``GaussianMixture`` fits on 344 x 30
rows ran at 0.5x to 0.9x of one after the other, where two on 10,000 x 30 ran
at 1.4x to 1.8x (one BLAS thread each). Beside a heavy job a light one is no
better: twelve light fits and two heavy ones on two threads took 2.9 s, one
after the other 2.8 s. So :func:`thread_map`
runs the heavy jobs (at least :data:`LIGHT_VALUES` values) on the threads
and the light ones by themselves, and a core is shared only where sharing
pays.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

from joblib import Parallel, delayed
from joblib.parallel import ThreadingBackend, get_active_backend
from threadpoolctl import threadpool_limits

#: Values (rows x features) a job works on below which it is bound by the interpreter, not by numpy. An
#: operation on ``m`` float64 values takes about ``m`` nanoseconds, the interpreter's work around it a few
#: microseconds: at 2**15 values the GIL is free for about nine tenths of a job's time.
LIGHT_VALUES = 2**15


def fit_threads(n_jobs: int | None) -> int:
    """Threads this process's fits may use: ``n_jobs`` on joblib's thread backend, else 1.

    A backend set with ``joblib.parallel_config`` (loky, Dask) takes
    precedence over the fits' preference for threads; its workers then fit
    on one thread each.
    """
    backend, _ = get_active_backend(prefer="threads")
    if not isinstance(backend, ThreadingBackend):
        return 1
    if n_jobs is None:  # as joblib reads it: parallel_config's n_jobs, else 1
        n_jobs = get_active_backend()[1]
    return int(backend.effective_n_jobs(n_jobs))


def one_blas_thread(threads: int):
    """Keep BLAS to one thread while ``threads`` > 1 threads fit, so they do not oversubscribe the cores."""
    return threadpool_limits(1, user_api="blas") if threads > 1 else contextlib.nullcontext()


def thread_map(
    calls: Sequence[partial],
    values: Sequence[int],
    n_jobs: int | None,
    spread: str | None = None,
) -> Iterator[tuple[int, Any]]:
    """``call()`` for every call through joblib, yielded as ``(index, result)``.

    On threads (:func:`fit_threads` above 1), the calls on at least
    :data:`LIGHT_VALUES` values run on the threads first; the lighter ones
    then run one after another on this thread, since beside anything else
    they would slow it down (see the module docstring). Elsewhere every
    call is joblib's task, in order. Each result is the same whichever way
    it ran. With ``spread``, a heavy call that has threads to spare (fewer
    heavy calls than threads) gets their share as that keyword argument,
    to spread its own work over.

    Parameters
    ----------
    calls : sequence of functools.partial
        The jobs: each a function and its arguments.
    values : sequence of int
        The number of values each job works on (its rows times features).
    n_jobs : int or None
        As joblib's.
    spread : str, optional
        The keyword through which each call takes a number of threads.
    """
    threads = fit_threads(n_jobs)
    light = [v < LIGHT_VALUES for v in values] if threads > 1 else [False] * len(calls)
    parallel = [i for i in range(len(calls)) if not light[i]]
    share = threads // len(parallel) if parallel else 1
    extra = {spread: share} if spread is not None and share > 1 else {}
    # the function itself to joblib, not a wrapper: its name is the task's name on a Dask dashboard
    results = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(
        delayed(calls[i].func)(*calls[i].args, **calls[i].keywords, **extra) for i in parallel
    )
    yield from zip(parallel, results, strict=True)
    for i in range(len(calls)):
        if light[i]:
            yield i, calls[i]()
