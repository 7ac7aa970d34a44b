"""What cross-fitting costs: ``CLMLEClassifier()`` against one
``CLMLEEmbedder()`` fit on the same rows, both with defaults::

    python benchmarks/bench_clmle_classifier_cost.py
    python benchmarks/bench_clmle_classifier_cost.py --sizes 600,3000

Rows: long-tailed Fashion-MNIST training images (imbalance ratio 10, flat
784 features) at each size.  Targets (issue 21): at most 2.5x below 5,000
rows, at most 1.4x above 20,000.  Both fits run in the same process, one
after the other (``--repeats`` times, medians reported), under the
benchmarks' lock, torch on one thread; the ratio is what to quote.  Writes ``benchmarks/results/clmle/classifier_cost.md``.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import add_busy_argument, check_quiet, results_dir  # noqa: E402
from sklearn_clmle import CLMLEClassifier, CLMLEEmbedder  # noqa: E402
from sklearn_clmle.datasets import load_fashion_mnist, make_long_tailed  # noqa: E402


def data(n, seed=0):
    X, y = load_fashion_mnist(subset="train", return_X_y=True)
    # the exponential profile (IR 10, 10 classes) keeps about 3.9 n_max rows
    X, y = make_long_tailed(X, y, imbalance_ratio=10, n_max=min(6000, int(n / 3.8)),
                            random_state=seed)
    rng = np.random.RandomState(seed)
    keep = np.sort(rng.permutation(len(y))[:n])
    return (X[keep] / 255.0).astype(np.float32), y[keep]


def warm_up():
    """A small untimed fit of both, so that neither timed fit pays torch's
    lazy imports (``torch._dynamo`` alone took about 3 s on first use, which
    would have landed on the first size's ``CLMLEEmbedder()``)."""
    X, y = data(300)
    tiny = CLMLEEmbedder(warmup_epochs=1, n_rounds=1, steps_per_round=2,
                         random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        CLMLEClassifier(tiny, random_state=0).fit(X, y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="600,3000,22000")
    parser.add_argument("--repeats", type=int, default=3,
                        help="fits of each estimator per size, alternating; "
                        "the medians are reported (a 3,000-row fit takes "
                        "about a second, so one fit each is noisy)")
    parser.add_argument("--out", default=None,
                        help="the Markdown file to write (default: "
                        "benchmarks/results/clmle/classifier_cost.md)")
    add_busy_argument(parser)
    args = parser.parse_args(argv)
    machine = check_quiet(args.allow_busy, "bench_clmle_classifier_cost.py")
    torch.set_num_threads(1)
    lines = ["# CLMLEClassifier's cost against one CLMLEEmbedder fit\n",
             "Command: `python benchmarks/bench_clmle_classifier_cost.py "
             + " ".join(argv if argv is not None else sys.argv[1:])
             + "`; long-tailed Fashion-MNIST (IR 10), defaults, seed 0, torch "
             "on one thread, the two fits one after the other in one process, after an untimed "
             "small fit of both (torch's lazy imports); median seconds of "
             f"{args.repeats} fits each.\n",
             "| rows | CLMLEEmbedder() s | CLMLEClassifier() s | ratio | cv | selected | refit budget |",
             "| ---: | ---: | ---: | ---: | --- | --- | --- |"]
    warm_up()
    for n in [int(s) for s in args.sizes.split(",")]:
        X, y = data(n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            times = []
            for _ in range(args.repeats):
                tic = time.perf_counter()
                CLMLEEmbedder(random_state=0).fit(X, y)
                middle = time.perf_counter()
                clf = CLMLEClassifier(random_state=0).fit(X, y)
                times.append((middle - tic, time.perf_counter() - middle))
            one, ours = np.median(times, axis=0)
        parts = "hold-out" if clf.n_splits_ == 1 else f"{clf.n_splits_} folds"
        cv = parts + (" + refit" if clf.refit_embedder_ else ", embedder kept")
        lines.append(f"| {len(y)} | {one:.1f} | {ours:.1f} | {ours / one:.2f} | {cv} | "
                     f"{clf.selected_} | {clf.budget_} |")
        print(lines[-1], flush=True)
    out = Path(args.out) if args.out else results_dir("clmle") / "classifier_cost.md"
    lines[1:1] = ["", machine.summary()]
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
