"""What every training loop of the torch estimators shares (private): the
optimiser (``OptimizerSpec``) and the ``Schedule``, the finite-loss and
overflow checks, the training-step notes, and batched extraction of unit-norm
embeddings (for re-clustering and ``transform``)."""

import contextlib
import copy
from dataclasses import dataclass

import numpy as np
import torch


# The ``optimizer`` parameter's names: the torch class and its keyword
# arguments besides ``lr`` and ``weight_decay``.
OPTIMIZERS = {
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9}),
}


@dataclass(frozen=True)
class OptimizerSpec:
    """The optimiser of a fit, as skorch builds it (``torch_class``)."""

    name: object  # a key of OPTIMIZERS or a torch optimizer class
    learning_rate: float
    weight_decay: float

    def torch_class(self):
        """``(optimizer class, keyword arguments but lr)``, as skorch's
        ``optimizer`` and ``optimizer__*`` take them."""
        cls, extra = (OPTIMIZERS[self.name] if isinstance(self.name, str)
                      else (self.name, {}))
        return cls, {"weight_decay": self.weight_decay, **extra}


@dataclass(frozen=True)
class Schedule:
    """The training budget: softmax warm-up epochs (and their batch size),
    then ``n_rounds`` rounds of ``steps_per_round`` steps; ``batch_size``
    rows per inference pass (re-clustering)."""

    warmup_epochs: int
    warmup_batch: int
    n_rounds: int
    steps_per_round: int
    batch_size: int


def _check_finite(loss, where):
    if not torch.isfinite(loss):
        raise FloatingPointError(
            f"The training loss became {loss.item()} at {where}. Lower "
            "learning_rate, check that the inputs are scaled (e.g. pixels to "
            "[0, 1]), or check the module for operations that overflow."
        )


def optimizer_step(opt, where):
    """``opt.step()``, with torch's overflow of a huge step size (e.g.
    ``learning_rate=3e38`` divided by Adam's bias correction) refused as a
    ``FloatingPointError`` naming ``where`` and the parameter to lower."""
    try:
        opt.step()
    except RuntimeError as exc:
        if "overflow" not in str(exc):
            raise
        raise FloatingPointError(
            f"The optimiser's step overflowed at {where} ({exc}). Lower "
            "learning_rate (or weight_decay)."
        ) from exc


def _check_finite_embeddings(feats, where):
    """Refuse embeddings extracted for re-clustering that are not finite (the
    network diverged): clustering them would fail inside ``SphericalKMeans``
    with a message about *input* NaN that the user never passed."""
    bad = ~np.isfinite(feats).all(axis=1)
    if bad.any():
        raise FloatingPointError(
            f"The embeddings of {int(bad.sum())} of {len(feats)} training "
            f"sample(s) became NaN or infinite at {where}: the network "
            "diverged. Lower learning_rate, check that the inputs are scaled "
            "(e.g. pixels to [0, 1]), or check the module for operations that "
            "overflow."
        )


@contextlib.contextmanager
def at_step(where):
    """Name the training step ``where`` in any exception raised inside.

    The exception itself is re-raised, its type and traceback unchanged
    (``except`` clauses of the caller still match), with a note (PEP 678,
    shown under the traceback and matched by ``pytest.raises(match=...)``)
    such as ``"raised during training, at round 2, step 3"``.  The innermost
    step wins; an exception whose message already names the step (the
    finite-loss check) gets no note.
    """
    try:
        yield
    except BaseException as exc:
        notes = getattr(exc, "__notes__", ())
        if where not in str(exc) and not any(
            n.startswith(_NOTE) for n in notes
        ):
            exc.add_note(f"{_NOTE}{where}; the estimator was left unfitted.")
        raise


_NOTE = "raised during training, at "


def _embeddings(net, xb):
    """The unit-norm embeddings of an ``EmbeddingNet``, heads side by side."""
    return torch.cat(net(xb), dim=1)


@torch.no_grad()
def extract(net, X, batch_size, device, out=None, *, output=_embeddings,
            width=None):
    """Outputs of ``net`` on the rows of ``X``, ``batch_size`` rows a forward
    pass on ``device`` in eval mode (the net's mode is restored after), as
    float32 numpy: the training loops' re-embedding, ``transform`` and
    ``LongTailNetClassifier``'s predictions.

    ``output(net, xb)``: the float32 tensor of ``width`` columns kept of a
    batch; by default the per-head unit-norm embeddings of an
    ``EmbeddingNet`` side by side (``width`` then defaults to ``n_heads *
    dim``).  ``X`` is any array supporting row slicing; only one batch of it
    is converted to float32 at a time.  ``out``, if given, is a preallocated
    ``(n_samples, width)`` array filled in place.
    """
    was_training = net.training
    net.eval()
    n = X.shape[0]
    if width is None:
        width = len(net.heads) * net.heads[0].out_features
    if out is None:
        out = np.empty((n, width), dtype=np.float32)
    try:
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            xb = X[start:stop]
            if not isinstance(xb, torch.Tensor):
                xb = torch.from_numpy(np.array(xb, dtype=np.float32))
            out[start:stop] = output(net, xb.to(device, dtype=torch.float32)).cpu().numpy()
    finally:
        net.train(was_training)
    return out


def on_device(module, device):
    """The fitted CPU ``module`` itself, or a copy of it on ``device`` (the
    fitted module is never moved)."""
    return module if device == "cpu" else copy.deepcopy(module).to(device)


def embed_checked(module, X, batch_size, device, n_heads):
    """``extract`` for ``transform``: the fitted CPU ``module`` (``on_device``),
    refusing rows whose output overflowed (a per-head block that is not of
    unit norm)."""
    Z = extract(on_device(module, device), X, batch_size, device)
    blocks = Z.reshape(len(Z), n_heads, -1)
    # per-head norms without a squared copy of Z (transform's peak memory
    # stays the output plus one batch)
    norms = np.sqrt(np.einsum("ijk,ijk->ij", blocks, blocks))
    bad = np.flatnonzero(~np.all(np.abs(norms - 1) < 1e-3, axis=1))
    if bad.size:
        raise ValueError(
            f"The module's output overflowed for {bad.size} row(s) of X (rows "
            f"{', '.join(map(str, bad[:5]))}): values too large for the "
            "network; rescale X as it was scaled for fit."
        )
    return Z
