"""Thread-parallel loops over row blocks (numpy releases the GIL in BLAS,
reductions, sorting and partitioning), safe to call from several threads.

Inside a loop BLAS is held to one thread, as scikit-learn's k-means does with
OpenMP, so that the loop's own threads do not oversubscribe the cores.  BLAS
thread limits are process-wide, and threadpoolctl lets only one thread at a
time change OpenBLAS's (other threads' requests are silently ignored), so
loops run one at a time, each setting the limit and restoring it itself.
Every block of every loop thus runs on single-threaded BLAS: a block's
floating-point result never depends on what other threads are doing, and
concurrent calls give bit-identical results.  A loop uses all the cores it is
given, so running loops one at a time costs no throughput.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

from threadpoolctl import ThreadpoolController

# Finding the loaded thread-pool libraries reads the process's memory map
# (milliseconds); their current limits are cheap to query, so the libraries
# are looked up once, and again only while no BLAS has been found.
_CONTROLLER = None

_LOOP_LOCK = threading.Lock()  # one block loop at a time (process-wide limits)
_STATE_LOCK = threading.Lock()  # guards _CONTROLLER and _OUTER_THREADS
_OUTER_THREADS = None  # BLAS threads before the running loop limited them


def _blas_controller():
    """The controller of the loaded BLAS libraries (call with _STATE_LOCK)."""
    global _CONTROLLER
    if _CONTROLLER is None or not _CONTROLLER.select(user_api="blas").lib_controllers:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.select(user_api="blas")


def _blas_threads(controller):
    counts = [lib.num_threads for lib in controller.lib_controllers]
    return max(counts) if counts else 1


def effective_n_threads():
    """Threads to use: those BLAS is allowed (threadpoolctl aware).

    While a block loop holds BLAS to one thread, the number it found is
    reported, so that a concurrent call chooses as a lone call would.
    """
    with _STATE_LOCK:
        if _OUTER_THREADS is not None:
            return _OUTER_THREADS
        return _blas_threads(_blas_controller())


def for_blocks(fn, n, step, n_threads):
    """Call ``fn(start, stop)`` over consecutive blocks of ``range(n)``.

    The blocks are shared among up to ``n_threads`` threads, with BLAS held to
    one thread; the blocks, and so the results, are the same for any
    ``n_threads`` and any number of concurrent callers.  ``fn`` must not call
    ``for_blocks`` itself.  If another thread holds the BLAS limits (an
    enclosing ``threadpool_limits`` in another thread), they cannot be
    changed here, and the blocks run one after the other on BLAS's threads.
    """
    global _OUTER_THREADS
    starts = range(0, n, step)
    with _LOOP_LOCK:
        with _STATE_LOCK:
            controller = _blas_controller()
            outer = _blas_threads(controller)
            _OUTER_THREADS = outer
        try:
            if outer > 1:
                limit = controller.limit(limits=1, user_api="blas")
            else:
                limit = nullcontext()
            with limit:
                with _STATE_LOCK:
                    limited = _blas_threads(controller) == 1
                n_workers = min(n_threads, len(starts)) if limited else 1
                if n_workers <= 1:
                    for start in starts:
                        fn(start, min(start + step, n))
                else:
                    with ThreadPoolExecutor(max_workers=n_workers) as pool:
                        list(pool.map(lambda s: fn(s, min(s + step, n)), starts))
        finally:
            with _STATE_LOCK:
                _OUTER_THREADS = None
