"""Data-parallel training over ``torch.distributed`` (private).

When a script has initialised the default process group (for instance under
``torchrun``), the torch estimators train data-parallel: every rank holds the
same ``X, y`` and the same random state, draws the same global batch, and
runs the backbone on its own contiguous slice of it.  ``data_parallel``
returns the object the training loops talk to: ``SingleProcess`` (a plain
fit, exactly the code path of a fit without ``torch.distributed``) or
``DataParallel``.

How the 1-process maths is kept.  Every loss of these estimators couples the
samples of a batch: the cluster loss through the batch centroids, the
cost-sensitive weights and the sets of other clusters (Eq. 9); the triplet
and quintuplet losses through in-batch mining; the class-weighted
cross-entropies through their normaliser ``sum_i w_i``.  Slicing whole
clusters per rank would not help the between-cluster terms, and scaling
per-rank means would not give the weighted normalisers.  So each rank
all-gathers the *outputs* of the backbone for the global batch (a few dozen
floats a row) and computes the very loss of the 1-process fit on the whole
batch; the backbone's forward and backward passes (nearly all of the cost)
run on the rank's slice only.  Uneven slices need no correction: the loss is
the global batch's loss whatever the slice sizes.  Gradients: every rank
computes the same loss from the same gathered batch, so the gradient reaching
the gathered rows of rank ``r`` is the same on every rank; the exact adjoint
of the all-gather (a sum of those gradients over the ranks) is therefore
``world_size`` times this rank's own rows, which ``_GatherRows`` returns
without a second collective.  ``DistributedDataParallel`` then averages the
parameter gradients over the ranks: ``(1 / W) sum_r W J_r^T g_r = sum_r J_r^T
g_r``, the gradient of the 1-process fit.  The softmax term's classifiers sit
on the gathered batch: each rank computes their full gradient, which DDP's
average leaves unchanged.  BatchNorm layers would normalise by their slice's
statistics: on CUDA they become ``SyncBatchNorm`` for the fit (statistics of
the global batch), on the CPU (where torch cannot synchronise them) they are
refused.
"""

import contextlib
import hashlib
import pickle
from itertools import pairwise

import numpy as np
import torch
from torch import nn

from .engine import extract as _extract

__all__ = ["DataParallel", "SingleProcess", "data_parallel", "share_random_state"]


def _dist():
    """``torch.distributed`` when it is usable and initialised, else None."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist
    return None


def share_random_state(rng):
    """Give ``rng`` rank 0's state when the default process group has more
    than one process (a meta-estimator such as ``CLMLEClassifier`` draws its
    splits before its embedders' fits: every rank must draw the same);
    otherwise leave it as it is."""
    dist = _dist()
    if dist is not None and dist.get_world_size() > 1:
        device = "cuda" if str(dist.get_backend()) == "nccl" else "cpu"
        DataParallel(dist, device).share_rng(rng)


def data_parallel(distributed, device):
    """The training context for the ``distributed`` parameter on ``device``
    (already resolved from ``"auto"``).

    ``"auto"``: data-parallel when the default process group is initialised
    with more than one process; ``True``: the same, but an uninitialised
    group is an error; ``False``: a plain fit on every process.
    """
    dist = _dist()
    if distributed is True and dist is None:
        raise ValueError(
            "distributed=True, but torch.distributed's default process group "
            "is not initialised; call torch.distributed.init_process_group() "
            "first (e.g. in a script launched with torchrun), or use "
            "distributed='auto' or False."
        )
    if distributed is False or dist is None or dist.get_world_size() == 1:
        return SingleProcess(device)
    return DataParallel(dist, device)


class SingleProcess:
    """A plain fit: every method is the identity of the 1-process code."""

    world_size = 1
    rank = 0
    is_root = True

    def __init__(self, device):
        self.device = device

    def check_same_data(self, X, Y, params):
        pass

    def share_rng(self, rng):
        pass

    @contextlib.contextmanager
    def prepared(self, net):
        yield net

    def wrap(self, model):
        """The module skorch trains: ``model`` itself."""
        return model

    def consistent(self, per_label):
        return per_label

    def extract(self, net, X, batch_size, device):
        return _extract(net, X, batch_size, device)

    def on_root(self, fn, rng):
        return fn()

    def map_tasks(self, fn, tasks, costs):
        return [fn(task) for task in tasks]


def _bounds(n, world_size):
    """Start of each rank's contiguous slice of ``n`` rows, and the end."""
    return [n * r // world_size for r in range(world_size + 1)]


class _GatherRows(torch.autograd.Function):
    """All-gather of row blocks of different sizes, in rank order, with the
    backward pass of an identical loss on every rank (see the module
    docstring): ``world_size`` times this rank's rows of the gradient."""

    @staticmethod
    def forward(ctx, local, dp, sizes):
        ctx.rows = (sum(sizes[:dp.rank]), sum(sizes[:dp.rank + 1]))
        ctx.world_size = dp.world_size
        return dp._all_gather_rows(local, sizes)

    @staticmethod
    def backward(ctx, grad):
        lo, hi = ctx.rows
        return grad[lo:hi] * ctx.world_size, None, None


class _SliceGather(nn.Module):
    """What skorch trains in a data-parallel fit: this rank's contiguous
    slice of every batch through the ``DistributedDataParallel`` model,
    then the outputs of the whole batch, all-gathered (differentiable, see
    the module docstring); a list of outputs (one per head) travels in one
    collective."""

    def __init__(self, model, dp):
        super().__init__()
        self.ddp = nn.parallel.DistributedDataParallel(
            model, device_ids=[torch.device(dp.device).index]
            if dp.device.startswith("cuda") else None)
        self.dp = dp

    def forward(self, x):
        dp = self.dp
        bounds = _bounds(len(x), dp.world_size)
        out = self.ddp(x[bounds[dp.rank]:bounds[dp.rank + 1]])
        if isinstance(out, torch.Tensor):
            return dp._gather(out, len(x))
        widths = [o.shape[1] for o in out]
        full = dp._gather(torch.cat(list(out), dim=1), len(x))
        return list(full.split(widths, dim=1))


class DataParallel:
    """``world_size`` processes of the default group train one model."""

    def __init__(self, dist, device):
        self.dist = dist
        self.world_size = dist.get_world_size()
        self.rank = dist.get_rank()
        self.is_root = self.rank == 0
        backend = str(dist.get_backend())
        if device == "cuda":
            # the usual torchrun script calls torch.cuda.set_device(local_rank)
            device = f"cuda:{torch.cuda.current_device()}"
        if backend == "nccl" and not device.startswith("cuda"):
            raise ValueError(
                f"device={device!r}, but the process group's backend is 'nccl', "
                "which communicates CUDA tensors only; initialise the group "
                "with backend='gloo' to train on the CPU, or pass "
                "device=f'cuda:{local_rank}'."
            )
        self.device = device
        # where collectives run: CUDA tensors for nccl, CPU tensors for gloo
        self.comm_device = device if backend == "nccl" else "cpu"

    # -- set-up ---------------------------------------------------------------

    def _all_gather_object(self, obj):
        out = [None] * self.world_size
        self.dist.all_gather_object(out, obj)
        return out

    def check_same_data(self, X, Y, params):
        """Refuse a fit whose ranks passed different data or parameters (they
        would draw different batches, then wait for each other forever)."""
        digest = hashlib.blake2b(digest_size=16)
        for a in (X.numpy(), np.ascontiguousarray(Y)):
            digest.update(repr((a.shape, a.dtype.str)).encode())
            digest.update(memoryview(np.ascontiguousarray(a)).cast("B"))
        digest.update(repr(params).encode())
        prints = self._all_gather_object(digest.hexdigest())
        differ = [r for r, p in enumerate(prints) if p != prints[0]]
        if differ:
            raise ValueError(
                f"Data-parallel fit: rank(s) {differ} passed a different X, y or "
                "different parameters than rank 0. Every rank must pass the same "
                "full X and y (each rank trains on its slice of every batch); "
                "with per-rank shards, gather them first (e.g. "
                "torch.distributed.all_gather_object) and pass the "
                "concatenation in the same order on every rank."
            )

    def _broadcast(self, obj):
        box = [obj]
        self.dist.broadcast_object_list(box, src=0, device=torch.device(self.comm_device))
        return box[0]

    def share_rng(self, rng):
        """Give every rank rank 0's random state (``random_state=None`` draws
        a different seed on each process)."""
        state = self._broadcast(rng.get_state() if self.is_root else None)
        if not self.is_root:
            rng.set_state(state)

    @contextlib.contextmanager
    def prepared(self, net):
        """BatchNorm layers as ``SyncBatchNorm`` during the fit (CUDA only),
        sharing their parameters and running statistics; restored after."""
        found = [
            (parent, name, child)
            for parent in net.modules()
            for name, child in parent.named_children()
            if isinstance(child, nn.modules.batchnorm._BatchNorm)
        ]
        if found and not self.device.startswith("cuda"):
            names = ", ".join(type(c).__name__ for _, _, c in found[:3])
            raise ValueError(
                f"The module has BatchNorm layers ({names}): in a data-parallel "
                "fit on the CPU they would normalise each rank's slice by its "
                "own statistics, not those of the global batch (torch's "
                "SyncBatchNorm runs on GPUs only). Train on CUDA, use "
                "GroupNorm / LayerNorm, or pass distributed=False."
            )
        for parent, name, child in found:
            parent._modules[name] = nn.SyncBatchNorm.convert_sync_batchnorm(child)
        try:
            yield net
        finally:
            for parent, name, child in found:
                parent._modules[name] = child

    # -- training steps --------------------------------------------------------

    def _all_gather_rows(self, local, sizes):
        """Concatenation, in rank order, of every rank's ``local`` rows
        (``sizes[r]`` of them on rank ``r``), on ``local``'s device."""
        pad = max(sizes)
        buf = local.new_zeros((pad, *local.shape[1:]), device=self.comm_device)
        buf[:local.shape[0]] = local.detach()
        parts = [torch.empty_like(buf) for _ in sizes]
        self.dist.all_gather(parts, buf)
        out = torch.cat([p[:s] for p, s in zip(parts, sizes)])
        return out.to(local.device)

    def _gather(self, local, n):
        bounds = _bounds(n, self.world_size)
        sizes = [b - a for a, b in pairwise(bounds)]
        return _GatherRows.apply(local, self, sizes)

    def wrap(self, model):
        """The module skorch trains (``_SliceGather``): this rank's slice
        of every batch through the ``DistributedDataParallel`` ``model``,
        then the outputs of the whole batch."""
        # The modules are built (the same on every rank); from here on a
        # torch seed per rank, so that the dropout masks of different slices
        # are independent, as those of different rows are in a 1-process fit.
        base = int(torch.randint(2**31, (1,)))  # the same on every rank
        torch.manual_seed(int(np.random.SeedSequence([base, self.rank])
                              .generate_state(1)[0]))
        return _SliceGather(model, self)

    def consistent(self, per_label):
        """Per-sample losses of the global batch (one tensor per label),
        each rank's slice taken from that rank: the samplers' loss caches
        stay identical on every rank even where a device's kernels are not
        bit-reproducible."""
        stacked = torch.stack([p.detach() for p in per_label], dim=1)
        bounds = _bounds(stacked.shape[0], self.world_size)
        local = stacked[bounds[self.rank]:bounds[self.rank + 1]]
        with torch.no_grad():
            full = self._all_gather_rows(local, [
                b - a for a, b in pairwise(bounds)])
        return list(full.unbind(dim=1))

    # -- re-clustering ---------------------------------------------------------
    # (``training.recluster``): every rank embeds a share of the rows and
    # clusters a share of the classes; all of both are gathered on every rank.

    def extract(self, net, X, batch_size, device):
        """Embeddings of all of ``X`` on every rank: each rank embeds a
        contiguous run of whole ``batch_size`` batches (the batches a
        1-process extraction would run), then they are all-gathered."""
        n_batches = -(-X.shape[0] // batch_size)
        stops = [min(X.shape[0], b * batch_size)
                 for b in _bounds(n_batches, self.world_size)]
        sizes = [b - a for a, b in pairwise(stops)]
        local = torch.from_numpy(_extract(
            net, X[stops[self.rank]:stops[self.rank + 1]], batch_size, device))
        return self._all_gather_rows(local, sizes).numpy()

    def on_root(self, fn, rng):
        """``fn()`` on rank 0 only (the check of the embeddings), its result
        and the random state after it broadcast to every rank; an exception
        raised by ``fn`` is raised on every rank."""
        if self.is_root:
            try:
                value = fn()
            except Exception as exc:  # raised on every rank
                self._broadcast((False, _picklable(exc), None))
                raise
            self._broadcast((True, value, rng.get_state()))
            return value
        ok, value, state = self._broadcast(None)
        if not ok:
            value.add_note("raised on rank 0 of the data-parallel fit")
            raise value
        rng.set_state(state)
        return value

    def map_tasks(self, fn, tasks, costs):
        """``[fn(task) for task in tasks]`` on every rank, each rank running a
        share of the tasks (``_share``: balanced by ``costs``), the results
        all-gathered.  ``fn`` must not use shared random state (the
        clusterings' seeds are drawn before).  If tasks raise, the exception
        of the first of them (in task order: the one a 1-process loop would
        meet) is raised on every rank."""
        results, failed = {}, None
        for i in _share(costs, self.world_size)[self.rank]:
            try:
                results[i] = fn(tasks[i])
            except Exception as exc:  # raised on every rank, below
                failed = (i, exc)
                break
        sent = None if failed is None else (failed[0], _picklable(failed[1]))
        gathered = self._all_gather_object((results if sent is None else {}, sent))
        errors = [(err[0], rank, err[1]) for rank, (_, err) in enumerate(gathered)
                  if err is not None]
        if errors:
            _, rank, exc = min(errors, key=lambda e: e[:2])
            if rank == self.rank:
                raise failed[1]
            exc.add_note(f"raised on rank {rank} of the data-parallel fit")
            raise exc
        for part, _ in gathered:
            results.update(part)
        return [results[i] for i in range(len(tasks))]


def _share(costs, world_size):
    """Task indices of every rank: the costliest task first, each to the
    rank with the least cost so far (the lowest rank on a tie); the same
    on every rank."""
    load = [0] * world_size
    shares = [[] for _ in range(world_size)]
    for i in sorted(range(len(costs)), key=lambda i: (-costs[i], i)):
        rank = min(range(world_size), key=lambda r: (load[r], r))
        shares[rank].append(i)
        load[rank] += costs[i]
    return [sorted(share) for share in shares]


def _picklable(exc):
    """``exc``, or a ``RuntimeError`` carrying its message if it does not
    pickle (it has to travel to the other ranks)."""
    try:
        pickle.dumps(exc)
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
