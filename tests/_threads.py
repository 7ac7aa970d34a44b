"""What the thread-safety tests share: calling a task from 8 threads
released together, and reading the BLAS thread limits."""

import threading
from concurrent.futures import ThreadPoolExecutor

from threadpoolctl import threadpool_info

N_THREADS = 8


def blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def call_concurrently(task, n_tasks):
    """Run ``task(i)`` for i < n_tasks on 8 threads released together."""
    barrier = threading.Barrier(N_THREADS)

    def run(i):
        if i < N_THREADS:
            barrier.wait(timeout=60)
        return task(i)

    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        return list(pool.map(run, range(n_tasks)))
