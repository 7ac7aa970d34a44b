"""CLMLEEmbedder's ``"auto"`` margins at 10 to 10,000 classes::

    python benchmarks/bench_margins.py

The bound of ``a1`` (the largest gap between ``C`` classes collapsed to
points, Section 3.2, in ``d`` dimensions), and ``margin_between_`` and
``margin_within_`` as ``CLMLEEmbedder`` sets them (a twentieth of the bounds)
(``embedding._auto.margins``, the same function) for ``C`` classes in
``d = 64`` and ``d = 128`` embedding dimensions, on balanced classes and on
an exponential long tail of imbalance ratio 100 (``n_c = 100 ** (-i / (C -
1))`` of the largest, at least one row), beside the circle rule they replace
(``0.5 * (1 - cos(2 pi / C))``) and the mean nearest-neighbour cosine of
``C`` random unit vectors (one draw, seed 0), which a learned embedding
should beat.  The loss multiplies the margins by ``scale`` (64 by default):
the last columns are ``scale * a1`` and ``scale * a2`` in logits.  Writes
``benchmarks/results/clmle/margins.md``.
"""

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import results_dir  # noqa: E402
from sklearn_clmle.embedding._auto import margin_bounds, margins  # noqa: E402

CLASSES = (10, 100, 1_000, 10_000)
DIMS = (64, 128)
SCALE = 64.0


def labels(n_classes, imbalance_ratio, n_max=1000):
    counts = np.maximum(1, np.round(n_max * imbalance_ratio ** (
        -np.arange(n_classes) / max(1, n_classes - 1)))).astype(int)
    return np.repeat(np.arange(n_classes), counts)[:, None]


def random_nn_cosine(n_points, dim, seed=0):
    """Mean over points of the largest cosine to another of ``n_points``
    random unit vectors in ``dim`` dimensions."""
    rng = np.random.RandomState(seed)
    V = rng.normal(size=(n_points, dim)).astype(np.float32)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    best = np.empty(n_points, dtype=np.float32)
    for start in range(0, n_points, 1000):
        cos = V[start:start + 1000] @ V.T
        cos[np.arange(cos.shape[0]), np.arange(start, start + cos.shape[0])] = -2
        best[start:start + 1000] = cos.max(1)
    return float(best.mean())


def main():
    lines = ["# CLMLEEmbedder's \"auto\" margins against the class count\n",
             "Command: `python benchmarks/bench_margins.py`.  `a1` = "
             "`margin_between_`, `a2` = `margin_within_` (cosine units) as "
             "`CLMLEEmbedder` sets them for `C` classes in `d` dimensions "
             "(a twentieth of the bounds; bound: that of a1); "
             "circle: the rule they replace, `0.5 (1 - cos(2π / C))`; random: "
             "mean nearest-neighbour cosine of `C` random unit vectors; "
             f"logits: times the default `scale={SCALE:g}`.\n",
             "| d | C | bound | a1 | a2 balanced | a2 IR 100 | circle a1 "
             "| random NN cosine | scale × a1 | scale × a2 IR 100 |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for d in DIMS:
        for C in CLASSES:
            a1, a2_bal = margins(labels(C, 1), "auto", "auto", d)
            bound = margin_bounds(labels(C, 1), d)[0][0]
            _, a2_lt = margins(labels(C, 100), "auto", "auto", d)
            circle = 0.5 * (1 - math.cos(2 * math.pi / C))
            lines.append(
                f"| {d} | {C:,} | {bound:.3f} | {a1[0]:.4f} | {a2_bal[0]:.4f} | {a2_lt[0]:.4f} | "
                f"{circle:.2g} | {random_nn_cosine(C, d):.3f} | "
                f"{SCALE * a1[0]:.2f} | {SCALE * a2_lt[0]:.2f} |")
    md = results_dir("clmle") / "margins.md"
    md.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
