"""Threads of the torch estimators' ``fit`` (private).

A fit runs torch's intra-op threads and, between training rounds, numpy's
BLAS (clustering, the k-nearest-cluster rule, linear heads).  Left to their
defaults, torch starts one OpenMP thread per logical CPU whose idle threads
spin, and numpy's BLAS threads compete with them: on a 2-core machine shared
with other work, the README's ``CLMLEClassifier`` block took 62 s with the
default threads and 10.5 s on one thread.  ``fit_threads`` sets, for the
duration of a fit:

- one thread when a sample is small (fewer than ``SMALL_SAMPLE`` values, a
  flat tabular row such as the 64 pixels of scikit-learn's digits): every
  operation of a small network is too short to share among threads;
- otherwise the physical cores this process may run on, never more than the
  caller's ``torch.get_num_threads()``;

and holds every thread pool threadpoolctl sees (BLAS, OpenMP) to the same
number.  The caller's torch threads and thread-pool limits are restored
afterwards, also when the fit raises.  ``torch.set_num_threads`` and
``threadpoolctl.threadpool_limits`` set by the caller lower the number
(they are a ceiling); ``ENABLED = False`` turns the policy off (the
benchmark of thread settings does, to time the alternatives).

The thread count changes the order of floating-point sums inside torch's
kernels, so a fit gives the same bits for the same data and settings on the
same machine, as before.
"""

import os
from contextlib import contextmanager

import numpy as np

# Values per sample below which a fit runs on one thread.
SMALL_SAMPLE = 256

# False: fit leaves the threads as the caller set them.
ENABLED = True


def physical_cores():
    """Physical cores among the CPUs this process may run on (Linux sysfs
    topology); the number of usable CPUs where the topology is not readable."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
    cores = set()
    for cpu in cpus:
        base = f"/sys/devices/system/cpu/cpu{cpu}/topology/"
        try:
            with open(base + "physical_package_id") as fh:
                package = fh.read().strip()
            with open(base + "core_id") as fh:
                core = fh.read().strip()
        except OSError:
            return len(cpus) or 1
        cores.add((package, core))
    return len(cores) or 1


def policy_threads(sample_shape, caller_threads, cores=None):
    """Threads for a fit on samples of ``sample_shape`` (see the module
    docstring), given the caller's torch threads."""
    if int(np.prod(sample_shape)) < SMALL_SAMPLE:
        return 1
    cores = physical_cores() if cores is None else cores
    return max(1, min(caller_threads, cores))


@contextmanager
def fit_threads(sample_shape):
    """Run the block under the thread policy for samples of
    ``sample_shape``; restore the caller's settings after it."""
    if not ENABLED:
        yield None
        return
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    before = torch.get_num_threads()
    pools = [lib["num_threads"] for lib in threadpool_info()]
    ceiling = min([before] + pools)
    n_threads = policy_threads(sample_shape, ceiling)
    try:
        with threadpool_limits(limits=n_threads):
            torch.set_num_threads(n_threads)
            yield n_threads
    finally:
        torch.set_num_threads(before)
