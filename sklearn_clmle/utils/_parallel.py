"""Thread-parallel loops over row blocks (numpy releases the GIL in BLAS,
reductions, sorting and partitioning)."""

from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import ThreadpoolController

# Finding the loaded thread-pool libraries reads the process's memory map
# (milliseconds); their current limits are cheap to query, so the libraries
# are looked up once, and again only while no BLAS has been found.
_CONTROLLER = None


def _blas_controllers():
    global _CONTROLLER
    if _CONTROLLER is None or not _CONTROLLER.select(user_api="blas").lib_controllers:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.select(user_api="blas").lib_controllers


def effective_n_threads():
    """Threads to use: those BLAS is currently allowed (threadpoolctl aware)."""
    counts = [lib.num_threads for lib in _blas_controllers()]
    return max(counts) if counts else 1


def for_blocks(fn, n, step, n_threads):
    """Call ``fn(start, stop)`` over consecutive blocks of ``range(n)``.

    With ``n_threads > 1`` the blocks are shared among threads and BLAS is
    held to one thread inside them, as scikit-learn's k-means does with OpenMP.
    """
    starts = range(0, n, step)
    if n_threads <= 1 or len(starts) < 2 * n_threads:
        for start in starts:
            fn(start, min(start + step, n))
        return
    _blas_controllers()  # the libraries, looked up once (see above)
    with _CONTROLLER.limit(limits=1, user_api="blas"):
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            list(pool.map(lambda s: fn(s, min(s + step, n)), starts))
