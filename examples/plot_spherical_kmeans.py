"""
==============================================
Equal-size spherical clusters of a long tail
==============================================

CLMLE summarises every class by clusters of equal size on the unit sphere
(the paper's Eq. 6-7).  This example clusters each digit class of a
long-tailed version of scikit-learn's bundled digits with
:class:`~sklearn_clmle.SphericalKMeans` (``equal_size=True``), then shows how
many clusters each class gets and how tight they are, next to unconstrained
spherical k-means.
"""

# %%
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from sklearn_clmle import SphericalKMeans

X, y = load_digits(return_X_y=True)
rng = np.random.default_rng(0)
# long tail: class c keeps 180 * 10 ** (-c / 9) samples (imbalance ratio 10)
keep = np.concatenate(
    [
        rng.permutation(np.flatnonzero(y == c))[: int(180 * 10 ** (-c / 9))]
        for c in range(10)
    ]
)
X, y = X[keep], y[keep]
print(f"{len(y)} samples, class sizes {np.bincount(y).tolist()}")

# %%
# Per-class clustering with cluster size l = 20, K_c = max(1, L_c // l).
cluster_size = 20
rows = []
t0 = time.perf_counter()
for c in range(10):
    Xc = X[y == c]
    k = max(1, len(Xc) // cluster_size)
    eq = SphericalKMeans(k, equal_size=True, random_state=0).fit(Xc)
    free = SphericalKMeans(k, random_state=0).fit(Xc)
    rows.append(
        (
            c,
            len(Xc),
            k,
            np.bincount(eq.labels_).tolist(),
            1 - eq.inertia_ / len(Xc),
            np.bincount(free.labels_).tolist(),
            1 - free.inertia_ / len(Xc),
        )
    )
elapsed = time.perf_counter() - t0

print(f"\n{'class':>5} {'n':>4} {'K':>3}  equal-size sizes (mean cos) | unconstrained")
for c, n, k, eq_sizes, eq_cos, free_sizes, free_cos in rows:
    print(f"{c:>5} {n:>4} {k:>3}  {eq_sizes} ({eq_cos:.3f}) | {free_sizes} ({free_cos:.3f})")
print(f"\nclustered 20 times in {elapsed:.2f} s")

# %%
# Plot the spread of cluster sizes in both modes.
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:  # matplotlib is an optional (benchmark) extra
    plt = None

if plt is not None:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for offset, idx, label in [(-0.15, 3, "equal_size=True"), (0.15, 5, "unconstrained")]:
        for c, *rest in rows:
            sizes = rows[c][idx]
            ax.scatter(
                np.full(len(sizes), c + offset), sizes, s=12,
                color="C0" if idx == 3 else "C1", label=label if c == 0 else None,
            )
    ax.set_xlabel("class (long tail: fewer samples to the right)")
    ax.set_ylabel("cluster size")
    ax.set_xticks(range(10))
    ax.legend()
    ax.set_title("Per-class spherical clusters, cluster size l = 20")
    fig.tight_layout()
    # run as a script, keep a copy beside the benchmarks' plots (the
    # documentation's gallery, which defines no __file__, shows the figure)
    if "__file__" in globals():
        out = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "examples"
        out.mkdir(parents=True, exist_ok=True)
        fig.savefig(out / "demo_cluster_sizes.png", dpi=100)
        print(f"plot saved to {out / 'demo_cluster_sizes.png'}")
