"""CLMLEClassifier under torch.distributed: 2 CPU processes (gloo, on the
loopback), as under ``torchrun --nproc_per_node=2``.

Its hold-outs reach every part's embedder as a ``FixedSplit`` (rows fixed,
so the data-parallel fit accepts them), and its random state is rank 0's on
every rank, so both ranks draw the same splits, train the same embedders and
end with the same model, also with ``random_state=None``.
"""

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

if not (torch.distributed.is_available() and torch.distributed.is_gloo_available()):
    pytest.skip("torch.distributed with gloo is not available",
                allow_module_level=True)

WORKER = Path(__file__).with_name("ddp_classifier_worker.py")
_spec = importlib.util.spec_from_file_location("ddp_classifier_worker", WORKER)
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("ddp_classifier")
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [
                   str(WORKER.parents[2]), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run(
        [sys.executable, str(WORKER), str(outdir), str(_free_port())],
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [dict(np.load(outdir / f"rank{r}.npz")) for r in (0, 1)], proc.stdout


@pytest.mark.parametrize("name", ["seeded", "noseed", "folds", "verbose"])
def test_both_ranks_fit_one_data_parallel_model(ranks, name):
    (first, second), _ = ranks
    assert int(first[f"{name}/world"]) == int(second[f"{name}/world"]) == 2
    assert str(first[f"{name}/selected"]) == str(second[f"{name}/selected"])
    np.testing.assert_array_equal(first[f"{name}/proba"], second[f"{name}/proba"])


def test_verbose_prints_the_phases_once_on_rank_0(ranks):
    _, out = ranks
    lines = out.splitlines()
    assert sum(line.startswith("[CLMLEClassifier] scoring") for line in lines) == 1
    assert sum(line.startswith("[CLMLEClassifier] part 1/1 (") and "round 2/2" in line
               for line in lines) == 1
    np.testing.assert_array_equal(ranks[0][0]["verbose/proba"],
                                  ranks[0][0]["seeded/proba"])


def test_the_fixed_split_repr_tells_rows_apart():
    from sklearn_clmle.embedding._curve import FixedSplit

    a = FixedSplit(np.arange(8), np.arange(8, 10))
    b = FixedSplit(np.r_[0:7, 8], np.array([7, 9]))
    assert repr(a).startswith("FixedSplit(8 training rows, 2 held out, rows ")
    assert repr(a) != repr(b)
    assert repr(a) == repr(FixedSplit(list(range(8)), [8, 9]))
