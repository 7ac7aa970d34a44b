"""Progress lines of an embedder's fit inside ``CLMLEClassifier`` (private).

``Progress`` is a skorch callback that prints one plain line per epoch of
the history (no ANSI colours): a warm-up epoch or a round against the fit's
caps, so that a user can estimate the time left; ``caps`` reads those caps
from a ``CLMLEEmbedder``'s resolved budget before the fit."""

import numpy as np
from skorch.callbacks import Callback

from ._auto import resolve
from ._budget import Budget


class Progress(Callback):
    """Prints ``"{label}: warm-up epoch w/W"`` or ``"{label}: round r/R"``
    (and the held-out loss when there is one) after every entry of the
    history; ``caps``: ``(W, R, passes a round)`` or ``None``."""

    def __init__(self, label, caps=None, sink=print):
        self.label, self.caps, self.sink = label, caps, sink

    def __repr__(self):  # the same on every rank of a data-parallel fit
        return f"Progress({self.label!r})"

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        warmup, rounds, _ = self.caps or (None, None, None)
        if row.get("phase") == "cluster" and "round" in row:
            text = f"round {row['round']}" + (f"/{rounds}" if rounds else "")
        elif row.get("phase") == "warmup":
            done = sum(r.get("phase") == "warmup" for r in net.history)
            text = f"warm-up epoch {done}" + (f"/{warmup}" if warmup else "")
        else:
            text = f"epoch {len(net.history)}"
        for key in ("valid_head_loss", "valid_loss"):
            if isinstance(row.get(key), float):
                text += f", held-out {key[6:].replace('_', ' ')} {row[key]:.4f}"
                break
        self.sink(f"{self.label}: {text}")


def caps(est, X, y, held_out):
    """``(warm-up epochs, rounds at most, passes a round)`` of a
    ``CLMLEEmbedder``'s fit on ``X``, ``y`` (``held_out``: with held-out
    rows, so that a curve budget may apply), or ``None`` for another
    embedder."""
    from ._clmle import CLMLEEmbedder

    if not isinstance(est, CLMLEEmbedder):
        return None
    y = np.asarray(y)
    n_classes = len(np.unique(y)) if y.ndim == 1 else 2
    settings = resolve(est, X.shape[0], int(np.prod(X.shape[1:])), n_classes)
    budget = Budget.of(est, batch=settings.batch, n_samples=X.shape[0], curve=held_out)
    return budget.warmup_epochs, budget.n_rounds, budget.passes_per_round
