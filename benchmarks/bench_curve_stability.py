"""How much the curve-read budget moves with the CPU's vector kernels::

    python benchmarks/bench_curve_stability.py            # seeds 0-2
    python benchmarks/bench_curve_stability.py --margin-levels default

README's ``CLMLEClassifier`` block (scikit-learn's digits, long-tailed at
imbalance ratio 10, a stratified test quarter) is fitted in a fresh process
under each of torch's CPU capabilities (``ATEN_CPU_CAPABILITY=default``, no
vector kernels; ``avx2``; and the machine's own), torch on one thread, once
with the budget's former rule (the round of lowest held-out head loss) and
once with the current one (the earliest round within one standard error of
the lowest, ``embedding._curve.best_round``).  Floats summed in another order
give another training trajectory, so the held-out curve and its flat
stretch differ between capabilities; the table shows the refit's
``n_rounds`` and the test balanced accuracy (the README's printed values)
for each.  ``--margin-levels auto`` (the default here) compares one margin
level, the embedder's own, so that only the curve's rule differs;
``--margin-levels default`` runs ``CLMLEClassifier()`` as it is (since
issue 29's cost work one level too; the committed
``curve_stability_margin_levels.*`` were made when it compared three), and
``--margin-levels auto,0.25,0.5`` compares those three levels, whose
choice can differ between kernels too.  Writes
``benchmarks/results/clmle/curve_stability.{csv,md}`` (with any other
``--margin-levels``: ``curve_stability_margin_levels.*``).
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import results_dir, write_csv  # noqa: E402

CHILD = r"""
import json, sys
import numpy as np
import torch
torch.set_num_threads(1)
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn_clmle import CLMLEClassifier
from sklearn_clmle.datasets import make_long_tailed
from sklearn_clmle.embedding import _clmle

rule, seed, levels = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if rule == "lowest round":
    def lowest(history, monitor="valid_loss"):
        rounds = [r for r in history if r.get("phase") == "cluster" and monitor in r]
        return int(rounds[int(np.argmin([r[monitor] for r in rounds]))]["round"])
    _clmle.best_round = lowest
X, y = load_digits(return_X_y=True)
X = (X / 16).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
X_train, y_train = make_long_tailed(X_train, y_train, imbalance_ratio=10, random_state=0)
kwargs = {} if levels == "default" else {"margin_levels": [
    lv if lv == "auto" else float(lv) for lv in levels.split(",")]}
clf = CLMLEClassifier(random_state=seed, **kwargs).fit(X_train, y_train)
score = balanced_accuracy_score(y_test, clf.predict(X_test))
print(json.dumps({"n_rounds": clf.budget_["n_rounds"], "score": score,
                  "selected": clf.selected_, "margin_level": clf.margin_level_,
                  "capability": torch.backends.cpu.get_cpu_capability()}))
"""

RULES = ("lowest round", "one standard error")


def run(rule, seed, capability, levels):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if capability != "native":
        env["ATEN_CPU_CAPABILITY"] = capability
    else:
        env.pop("ATEN_CPU_CAPABILITY", None)
    out = subprocess.run([sys.executable, "-c", CHILD, rule, str(seed), levels], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--margin-levels", default="auto",
        help="CLMLEClassifier's margin_levels, comma-separated ('auto': the "
             "embedder's own margins only, which isolates the curve's rule), "
             "or 'default' (the classifier's default levels)")
    args = parser.parse_args(argv)
    rows = []
    for seed in args.seeds:
        for rule in RULES:
            for capability in ("default", "avx2", "native"):
                r = run(rule, seed, capability, args.margin_levels)
                rows.append({"seed": seed, "rule": rule, "capability": capability,
                             "kernels": r["capability"], "n_rounds": r["n_rounds"],
                             "balanced_accuracy": round(r["score"], 4),
                             "selected": r["selected"],
                             "margin_level": r["margin_level"]})
                print(rows[-1], flush=True)
    out = results_dir("clmle")
    stem = ("curve_stability" if args.margin_levels == "auto"
            else "curve_stability_margin_levels")
    write_csv(rows, out / f"{stem}.csv")
    command = "python benchmarks/bench_curve_stability.py " + shlex.join(
        ["--seeds", *map(str, args.seeds), "--margin-levels", args.margin_levels])
    native = next((r["kernels"] for r in rows if r["capability"] == "native"), "?")
    lines = [
        "# The curve-read budget across CPU kernels",
        "",
        f"Command: `{command}`. README's `CLMLEClassifier` block (digits, "
        f"imbalance ratio 10, test quarter), `margin_levels` {args.margin_levels!r}, "
        "`random_state` = seed, torch on one "
        "thread, each fit in a fresh process under `ATEN_CPU_CAPABILITY` = "
        f"default / avx2 / native (here: {native}). `n_rounds`: the refit's "
        "budget read from the held-out curve; balanced accuracy on the test "
        "quarter (%). Spread: largest minus smallest over the three "
        "capabilities.",
        "",
        "| seed | rule | n_rounds default / avx2 / native | spread | "
        "balanced accuracy default / avx2 / native | spread | margin level |",
        "| --- | --- | --- | ---: | --- | ---: | --- |",
    ]
    spreads = {rule: [] for rule in RULES}
    for seed in args.seeds:
        for rule in RULES:
            sel = [r for r in rows if r["seed"] == seed and r["rule"] == rule]
            n = [r["n_rounds"] for r in sel]
            s = [100 * r["balanced_accuracy"] for r in sel]
            spreads[rule].append((max(n) - min(n), max(s) - min(s)))
            lines.append(
                f"| {seed} | {rule} | {' / '.join(map(str, n))} | {max(n) - min(n)} | "
                f"{' / '.join(f'{v:.1f}' for v in s)} | {max(s) - min(s):.1f} | "
                f"{' / '.join(r['margin_level'] for r in sel)} |")
    lines += ["", "Mean spread over seeds: " + "; ".join(
        f"{rule}: n_rounds {np.mean([a for a, _ in v]):.1f}, balanced accuracy "
        f"{np.mean([b for _, b in v]):.1f} points" for rule, v in spreads.items()) + ".",
        ""]
    (out / f"{stem}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
