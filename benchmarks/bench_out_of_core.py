"""Peak memory of ``transform`` / ``predict`` on 1,000,000 rows (issue 15, item 4).

``X`` is 1,000,000 x 64 float32 (244 MiB), made before the measurement.
``CLMLEEmbedder`` (default MLP, fitted on 2,000 rows) embeds it, and
``KNearestClusterClassifier`` (fitted on 100,000 rows, ``cluster_size=200``)
classifies it, once with rows already of unit norm and once with raw rows.
Peak memory is the largest extra memory numpy and Python allocate during the
call (``tracemalloc``: numpy reports its buffers to it; torch's own
per-batch buffers, ``batch_size`` rows, are not counted), as a multiple of
the output's size.

::

    python benchmarks/bench_out_of_core.py      # about a minute

Results: ``benchmarks/results/scaling/out_of_core.md``.
"""

import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import check_quiet  # noqa: E402
from sklearn_clmle import CLMLEEmbedder, KNearestClusterClassifier  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "scaling" / "out_of_core.md"
N, D = 1_000_000, 64


def measure(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    t = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, peak, seconds


def main():
    # its seconds column is a timing: --allow-busy writes it marked as such
    machine = check_quiet("--allow-busy" in sys.argv[1:], "bench_out_of_core.py")
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    y = rng.integers(10, size=N)
    centers = rng.normal(size=(10, D))
    X = (centers[y] + rng.normal(size=(N, D))).astype(np.float32)
    X_unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        emb = CLMLEEmbedder(epochs=15, device="cpu", random_state=0).fit(X[:2000],
                                                                          y[:2000])
    Z, peak, s = measure(lambda: emb.transform(X))
    rows.append(("CLMLEEmbedder.transform", "raw", Z.nbytes, peak, s))
    knc = KNearestClusterClassifier(cluster_size=200, scale=16.0, prior_correction=1.0,
                                    aggregate="max", head="none", random_state=0)
    knc.fit(X_unit[:100_000], y[:100_000])
    for label, data in (("unit-norm", X_unit), ("raw", X)):
        pred, peak, s = measure(lambda: knc.predict(data))
        rows.append(("KNearestClusterClassifier.predict", label, pred.nbytes, peak, s))
    lines = [
        "# Out-of-core inference: peak memory of transform / predict on "
        "1,000,000 rows\n",
        f"X: {N:,} x {D} float32 ({X.nbytes / 2**20:.0f} MiB), made before the "
        "measurement; peak = the largest extra memory numpy/Python allocated "
        "during the call (tracemalloc). Command: "
        "`python benchmarks/bench_out_of_core.py`.\n",
        machine.summary() + "\n",
        "| call | X rows | output (MiB) | peak (MiB) | peak / output | seconds |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for call, kind, out_bytes, peak, s in rows:
        lines.append(f"| {call} | {kind} | {out_bytes / 2**20:.1f} | "
                     f"{peak / 2**20:.1f} | {peak / out_bytes:.2f} | {s:.1f} |")
    OUT.write_text("\n".join(lines) + "\n")
    print(OUT.read_text())


if __name__ == "__main__":
    main()
