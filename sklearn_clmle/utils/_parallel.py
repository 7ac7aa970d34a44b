"""Thread-parallel loops over row blocks (numpy releases the GIL in BLAS,
reductions, sorting and partitioning)."""

from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import threadpool_info, threadpool_limits


def effective_n_threads():
    """Threads to use: those BLAS is currently allowed (threadpoolctl aware)."""
    counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
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
    with threadpool_limits(limits=1, user_api="blas"):
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            list(pool.map(lambda s: fn(s, min(s + step, n)), starts))
