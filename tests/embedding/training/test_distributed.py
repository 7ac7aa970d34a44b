"""Data-parallel training over torch.distributed: 2 CPU processes (gloo, on
the loopback) against 1 process.

``ddp_worker.py`` fits every case of ``ddp_worker.cases()`` in two processes
(one torch thread each); here the same cases are fitted in this process.  A
2-process fit runs the 1-process fit's global batches and loss, so the two
agree up to float rounding: the backbone runs on half-batches and the weight
gradients are summed in another order.  Measured: at most 3e-6 apart in the
outputs and parameters; tolerance 2e-5.  Without DDP's gradient
scaling right (e.g. the gathered rows' gradient not multiplied by the world
size) they were 1e-4 to 0.3 apart.  Settings are chosen away from discrete
choices that a rounding difference can flip, then diverge: the default CNN's
max-pooling over equal background values, whose tie-break moved with the
batch size in a multi-label CNN fit (3e-3 apart after a few steps).
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

from sklearn_clmle import CLMLEEmbedder, MetricEmbedder  # noqa: E402
from sklearn_clmle.embedding import LongTailNetClassifier  # noqa: E402
from sklearn_clmle.embedding.training import distributed  # noqa: E402

if not (torch.distributed.is_available() and torch.distributed.is_gloo_available()):
    pytest.skip("torch.distributed with gloo is not available",
                allow_module_level=True)

WORKER = Path(__file__).with_name("ddp_worker.py")
_spec = importlib.util.spec_from_file_location("ddp_worker", WORKER)
ddp_worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ddp_worker)

ATOL = 2e-5
# Batch-hard triplet mining takes a max over distances at every step, which
# carries the rounding difference of 1 against 2 processes forward: under
# torch's plain and AVX2 kernels (ATEN_CPU_CAPABILITY=default / avx2, as on
# other CPUs) one parameter of 2,344 ends 5.5e-5 / 3.0e-5 away (within 2e-5
# with AVX-512 kernels).
CASE_ATOL = {"metric_triplet": 1e-4}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """What ranks 0 and 1 of a 2-process run of ``ddp_worker.py`` saved."""
    outdir = tmp_path_factory.mktemp("ddp")
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join(filter(None, [
                   str(Path(ddp_worker.__file__).parents[3]),
                   os.environ.get("PYTHONPATH")])))
    proc = subprocess.run(
        [sys.executable, str(WORKER), str(outdir), str(_free_port())],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [dict(np.load(outdir / f"rank{r}.npz")) for r in (0, 1)]


@pytest.fixture(scope="module")
def single():
    """The same cases fitted in this process (a plain fit)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return {name: ddp_worker.run_case(*case)
                for name, case in ddp_worker.cases().items()}
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("name", list(ddp_worker.cases()))
def test_two_processes_fit_the_one_process_model(ranks, single, name):
    out, params, world, losses = single[name]
    r0, r1 = ranks
    assert world == 1
    assert r0[f"{name}/world"] == 2 and r1[f"{name}/world"] == 2
    # every rank ends with the same model, bit for bit
    np.testing.assert_array_equal(r0[f"{name}/params"], r1[f"{name}/params"])
    np.testing.assert_array_equal(r0[f"{name}/out"], r1[f"{name}/out"])
    # ... which is the 1-process model, up to float rounding
    atol = CASE_ATOL.get(name, ATOL)
    np.testing.assert_allclose(r0[f"{name}/params"], params, rtol=0, atol=atol)
    np.testing.assert_allclose(r0[f"{name}/out"], out, rtol=0, atol=atol)
    # the same global batches, step by step
    np.testing.assert_allclose(r0[f"{name}/losses"], losses, rtol=1e-5, atol=ATOL)


def test_opt_out_is_an_independent_plain_fit_on_every_rank(ranks, single):
    out = single["clmle_mlp"][0]
    for r in ranks:
        assert r["optout/world"] == 1
        np.testing.assert_array_equal(r["optout/out"], out)


def test_random_state_none_takes_rank_0s_seed(ranks):
    r0, r1 = ranks
    assert r0["noseed/world"] == 2
    np.testing.assert_array_equal(r0["noseed/params"], r1["noseed/params"])


def test_refusals_are_raised_on_every_rank(ranks):
    for rank, r in enumerate(ranks):
        msg = str(r["error/different_data"])
        assert "rank(s) [1] passed a different X, y" in msg
        assert "same full X and y" in msg
        assert "BatchNorm1d" in str(r["error/batchnorm"])
        assert "distributed=False" in str(r["error/batchnorm"])
        msg = str(r["error/nan_embeddings"])
        assert "became NaN or infinite at round 1, re-clustering" in msg
        assert ("raised on rank 0" in msg) == (rank == 1)


def test_tasks_are_shared_among_the_ranks_and_gathered_on_each(ranks):
    # costs 5, 1, 4, 2, 3: rank 0 runs tasks 0, 1, 3 and rank 1 tasks 2, 4
    # (distributed._share); both end with every result, in task order
    r0, r1 = ranks
    np.testing.assert_array_equal(r0["share/ran"], [0, 1, 3])
    np.testing.assert_array_equal(r1["share/ran"], [2, 4])
    for r in ranks:
        np.testing.assert_array_equal(
            r["share/results"], [[0, 0], [1, 0], [4, 1], [9, 0], [16, 1]])
    # tasks 3 (rank 0) and 4 (rank 1) fail: task 3's error, the one a
    # 1-process loop meets first, is raised on both ranks
    for rank, r in enumerate(ranks):
        msg = str(r["error/task"])
        assert msg.startswith("task 3 failed on rank 0")
        assert ("raised on rank 0 of the data-parallel fit" in msg) == (rank == 1)


ESTIMATORS = [CLMLEEmbedder, MetricEmbedder, LongTailNetClassifier]


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_plain_fit_has_world_size_1(cls):
    X, y = ddp_worker.data()
    est = cls(hidden_units=(8,), device="cpu", random_state=0,
              **({"epochs": 1} if cls is LongTailNetClassifier
                 else {"n_rounds": 1, "steps_per_round": 1, "warmup_epochs": 0}))
    assert est.fit(X[:100], y[:100]).world_size_ == 1


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_distributed_true_needs_a_process_group(cls):
    X, y = ddp_worker.data()
    with pytest.raises(ValueError, match=r"distributed=True, but torch.distributed's "
                       r"default process group is not initialised"):
        cls(distributed=True, device="cpu").fit(X[:50], y[:50])


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("value", ["yes", 2, None, "Auto"])
def test_distributed_bad_values(cls, value):
    X, y = ddp_worker.data()
    with pytest.raises(ValueError, match=r"The 'distributed' parameter of "
                       rf"{cls.__name__} must be .*Got {value!r} instead"):
        cls(distributed=value, device="cpu").fit(X[:50], y[:50])


def test_slices_are_contiguous_and_cover_the_batch():
    assert distributed._bounds(5, 2) == [0, 2, 5]
    assert distributed._bounds(1, 2) == [0, 0, 1]  # rank 0's slice is empty
    assert distributed._bounds(12, 3) == [0, 4, 8, 12]


def test_without_a_process_group_auto_is_a_plain_fit():
    dp = distributed.data_parallel("auto", "cpu")
    assert isinstance(dp, distributed.SingleProcess) and dp.world_size == 1
    assert isinstance(distributed.data_parallel(False, "cpu"), distributed.SingleProcess)


def test_batchnorm_runs_as_syncbatchnorm_during_a_cuda_fit_and_is_restored():
    # the swap itself needs no GPU: a CUDA context, as DataParallel sets it up
    dp = object.__new__(distributed.DataParallel)
    dp.device = "cuda:0"
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3),
                              torch.nn.Sequential(torch.nn.BatchNorm1d(3)))
    bn1, bn2 = net[1], net[2][0]
    with dp.prepared(net):
        assert type(net[1]) is torch.nn.SyncBatchNorm
        assert type(net[2][0]) is torch.nn.SyncBatchNorm
        # the same parameters and running statistics: training updates the
        # user's layers
        assert net[1].weight is bn1.weight and net[2][0].bias is bn2.bias
        assert net[1].running_mean is bn1.running_mean
    assert net[1] is bn1 and net[2][0] is bn2
