"""What the torch estimators share (private): the parameters every one of
them has and their constraints, input validation, the backbone, training
under a fork of the torch random state (data-parallel when a process group
is up) and CPU-only pickles.  The embedders' ``transform``: ``_embedder``."""

import copy
import io
import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from ..utils._persistence import unfit_on_failure
from ..utils._validation import (
    Interval,
    StrOptions,
    _fit_context,
    refuse_non_numeric,
    validate_numeric,
)
from ._curve import FixedSplit
from ._docs import fill_doc
from ._threads import fit_threads
from .nn.backbones import default_backbone, output_width, warn_default_cnn
from .training.distributed import _dist, data_parallel
from .training.engine import OPTIMIZERS, at_step

# Largest float32: torch's optimisers refuse larger learning rates and weight
# decays from inside a step ("value cannot be converted to type float without
# overflow"); the parameter constraints refuse them before training.
F32_MAX = float(np.finfo(np.float32).max)

class _SavedCallbacks:
    """Fitted skorch callbacks as ``torch.save`` bytes, inside a pickle."""

    def __init__(self, data):
        self.data = data


# Parameters of every torch estimator, with one meaning and one constraint.
SHARED_CONSTRAINTS = {
    "module": [None, torch.nn.Module, type],
    "input_shape": [None, tuple],
    "optimizer": [StrOptions(set(OPTIMIZERS)), type],
    "learning_rate": [Interval(Real, 0, F32_MAX, closed="neither")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "device": [str],
    "random_state": ["random_state"],
    "distributed": [StrOptions({"auto"}), "boolean"],
    "callbacks": [None, list],
    "train_split": [None, callable],
    "verbose": ["verbose"],
}

# The softmax warm-up of the embedders (CLMLEEmbedder, MetricEmbedder).
WARMUP_CONSTRAINTS = {
    "warmup_epochs": [Interval(Integral, 0, None, closed="left")],
    "warmup_class_weight": [StrOptions({"balanced", "logit_adjusted"}), None],
    "warmup_batch_size": [None, Interval(Integral, 1, None, closed="left")],
}


# Tiny settings of the embedders for the scikit-learn estimator checks
# (``_test_params``, tests/test_common.py).
EMBEDDER_TEST_PARAMS = {
    "hidden_units": (8,),
    "embedding_dim": 4,
    "cluster_size": 5,
    "n_clusters_per_batch": 3,
    "n_samples_per_cluster": 3,
    "n_rounds": 2,
    "steps_per_round": 2,
    "warmup_epochs": 1,
    "device": "cpu",
}


def resolve_device(device):
    """The torch device string of the ``device`` parameter: ``"auto"`` is
    CUDA when available, else the CPU; any other value must name a device
    type torch knows (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``, ...)
    that is available here, with an index below its device count."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"device={device!r} is not a torch device; expected 'auto', "
            "'cpu', 'cuda', 'cuda:<index>' or another torch device type "
            "available here (e.g. 'mps')."
        ) from None
    if dev.type == "cpu":
        return device
    backend = (torch.backends.mps if dev.type == "mps"
               else getattr(torch, dev.type, None))
    available = getattr(backend, "is_available", None)
    if available is None or not available():
        raise ValueError(
            f"device={device!r} was requested but no {dev.type} device is "
            f"available here (torch {torch.__version__}); use device='cpu' "
            "or device='auto'."
        )
    count = getattr(backend, "device_count", None)
    if dev.index is not None and count is not None and dev.index >= count():
        raise ValueError(
            f"device={device!r} was requested but this machine has "
            f"{count()} {dev.type} device(s) (indices 0 to {count() - 1}); "
            "use a smaller index, device='cpu' or device='auto'."
        )
    return device


def check_float32_range(X):
    """Refuse values that become infinite when cast to float32."""
    if X.size and np.abs(X).max() > np.finfo(np.float32).max:
        raise ValueError(
            "X has values too large for float32 (they become infinite when "
            "cast); rescale X."
        )


@fill_doc
class TorchInputMixin:
    """``fit`` (a template: validation, then the estimator's ``_fit(X, y)``),
    validation of flat or image input, the default/user backbone, and
    CPU-only pickles of the fitted ``module_``.

    Expects the parameters ``module``, ``input_shape`` and ``hidden_units``;
    ``fit`` sets ``_input_layout`` (the sample shape of ``X``) and
    ``input_shape_`` (the shape fed to the backbone).  ``_multi_output_y``
    says whether a 2-D ``y`` (multi-label) is accepted.
    """

    _multi_output_y = False

    @unfit_on_failure
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network on ``X`` and ``y`` (see the class docstring).

        Parameters
        ----------
        {{X_fit}}
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (at least two classes), or a binary indicator matrix
            of multi-label data where the estimator takes one
            (``CLMLEEmbedder``, ``LongTailNetClassifier``).

        {{returns_self}}
        """
        X, y = self._validate_X(X, reset=True, y=y)
        resolve_device(self.device)  # refuses a device not available here
        self._input_layout = tuple(X.shape[1:])
        self.input_shape_ = self._sample_shape(X)
        if self.module is None and self.input_shape is None and X.ndim >= 3:
            warn_default_cnn(type(self).__name__, X.shape[1:])
        with fit_threads(X.shape[1:]):
            self._fit(X, y)
        return self

    def _refuse_split_when_data_parallel(self):
        """A ``train_split`` under ``torchrun`` could hold out other rows on
        every process (e.g. an unseeded ``ValidSplit``): refused, unless its
        rows are fixed (``FixedSplit``, ``CLMLEClassifier``'s)."""
        dist = _dist()
        if (self.train_split is not None and self.distributed is not False
                and not isinstance(self.train_split, FixedSplit)
                and dist is not None and dist.get_world_size() > 1):
            raise ValueError(
                f"train_split={self.train_split!r} is not supported in a "
                f"data-parallel fit (distributed={self.distributed!r}, "
                f"{dist.get_world_size()} processes); pass train_split=None, "
                "or distributed=False for an independent fit on every process.")

    def _train_module(self, X, y, build, train_fn):
        """Build a net and train it, seeded from ``random_state``.

        ``X`` (validated) becomes one float32 tensor; ``build()`` makes the
        net, moved to the resolved ``device``; ``train_fn(net, X_t, device,
        rng, dp)`` trains it and returns skorch's history and fitted
        callbacks, with ``dp``
        the data-parallel context of ``training.distributed`` (``y``, the
        encoded targets, only serves to check that every rank has the same
        data).  Sets ``world_size_`` and ``callbacks_`` (skorch's fitted
        callbacks).  The global torch random state is left as it was.
        Returns the net, on the CPU in eval mode, and the history.
        """
        self._check_module()
        X_t = torch.from_numpy(np.array(X, dtype=np.float32, order="C"))
        dp = data_parallel(self.distributed, resolve_device(self.device))
        device = dp.device
        params = {k: v for k, v in self.get_params(deep=False).items()
                  if k not in ("module", "device", "random_state", "verbose")}
        dp.check_same_data(X_t, np.asarray(y), sorted(params.items()))
        rng = check_random_state(self.random_state)
        dp.share_rng(rng)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        devices = []
        if device.startswith("cuda"):
            index = torch.device(device).index
            devices = [torch.cuda.current_device() if index is None else index]
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            with at_step("building the network (a forward pass of the "
                         "backbone on a dummy batch)"):
                net = build().to(device)
            with dp.prepared(net):
                history, self.callbacks_ = train_fn(net, X_t, device, rng, dp)
        self.world_size_ = dp.world_size
        return net.to("cpu").eval(), history

    def _validate_X(self, X, *, reset, y=None):
        kwargs = dict(
            reset=reset, accept_sparse=False, dtype="numeric", allow_nd=True,
            ensure_all_finite=True,
        )
        if y is None and not reset:
            X = validate_numeric(self, X, lambda: validate_data(self, X, **kwargs))
        else:
            X, y = validate_numeric(self, X, lambda: validate_data(
                self, X, y, multi_output=self._multi_output_y, **kwargs))
        if X.dtype.kind not in "biuf":
            # e.g. a DataFrame of string categories: validate_data(dtype=
            # "numeric") keeps its object array, which failed later in
            # np.abs with "bad operand type for abs(): 'str'"
            refuse_non_numeric(self, X)
        if X.ndim > 4:
            raise ValueError(
                f"X has {X.ndim} dimensions; expected 2 (n_samples, n_features), "
                "3 (n_samples, height, width) or 4 (n_samples, channels, height, "
                "width)."
            )
        if not reset and X.shape[1:] != self._input_layout:
            raise ValueError(
                f"X has sample shape {X.shape[1:]}, but {type(self).__name__} was "
                f"fitted on samples of shape {self._input_layout}."
            )
        check_float32_range(X)
        return X, y

    def _sample_shape(self, X):
        if self.input_shape is None:
            return tuple(X.shape[1:])
        shape = tuple(int(s) for s in self.input_shape)
        if math.prod(shape) != math.prod(X.shape[1:]):
            raise ValueError(
                f"input_shape={self.input_shape} has {math.prod(shape)} values per "
                f"sample, but the samples of X have shape {X.shape[1:]} "
                f"({math.prod(X.shape[1:])} values)."
            )
        return shape

    def __getstate__(self):
        # pickles hold the module on the CPU: they load without a GPU
        state = super().__getstate__()
        module = state.get("module_")
        if module is not None and any(
            p.device.type != "cpu" for p in module.parameters()
        ):
            state["module_"] = copy.deepcopy(module).to("cpu")
        if state.get("callbacks_") is not None:
            # fitted callbacks may hold device tensors (an LRScheduler's
            # optimiser state): saved by torch, loaded on the CPU
            buffer = io.BytesIO()
            torch.save(state["callbacks_"], buffer)
            state["callbacks_"] = _SavedCallbacks(buffer.getvalue())
        return state

    def __setstate__(self, state):
        saved = state.get("callbacks_")
        if isinstance(saved, _SavedCallbacks):
            state["callbacks_"] = torch.load(  # weights_only=False: bytes of this pickle
                io.BytesIO(saved.data), map_location="cpu", weights_only=False)
        super().__setstate__(state)
        device = self.__dict__.get("device")
        if isinstance(device, str) and device != "auto":
            try:
                resolve_device(device)
            except ValueError as exc:
                # as skorch does: a model fitted on a GPU loads on a machine
                # without one, and runs there on the CPU
                warnings.warn(
                    f"{type(self).__name__} was saved with device={device!r}, "
                    f"which is not available here ({exc}); it was loaded "
                    "with device='cpu'.", UserWarning, stacklevel=2)
                self.device = "cpu"

    # -- module__* parameters (skorch's convention) ---------------------------

    def _set_module_params(self, params):
        """Store the keyword arguments of ``__init__`` beyond the listed
        parameters (``module__*``, for a module class) as parameters; like
        every parameter they are checked at ``fit``, not here."""
        for key, value in params.items():
            setattr(self, key, value)
        self._extra_params = sorted(set(getattr(self, "_extra_params", ())) | set(params))

    def _module_params(self):
        return {k: getattr(self, k) for k in getattr(self, "_extra_params", ())}

    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update(self._module_params())
        return params

    def set_params(self, **params):
        extra = [k for k in params
                 if k.startswith("module__") or k in getattr(self, "_extra_params", ())]
        self._set_module_params({k: params.pop(k) for k in extra})
        return super().set_params(**params)

    def _check_module(self):
        """Refuse ``module__*`` parameters that ``module`` cannot take (before
        any training)."""
        kwargs = self._module_params()
        unknown = [k for k in kwargs if not k.startswith("module__") or k == "module__"]
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected parameter(s) "
                f"{', '.join(map(repr, unknown))}; besides the listed parameters "
                "only module__<name> arguments (for a module class) are accepted."
            )
        if isinstance(self.module, type):
            if not issubclass(self.module, torch.nn.Module):
                raise TypeError(
                    f"module={self.module!r} is a class but not a torch.nn.Module "
                    "subclass; pass an nn.Module subclass or instance, or None."
                )
        elif kwargs:
            what = "None (the default backbone, sized by hidden_units)" if (
                self.module is None) else "a module instance"
            raise ValueError(
                f"module__* parameters ({', '.join(sorted(kwargs))}) are "
                f"arguments of a module class, but module is {what}; pass "
                "module=<an nn.Module subclass> to use them."
            )

    def _backbone(self, hidden_units=None):
        """The backbone (``module`` built with the ``module__*`` parameters,
        a copy of a ``module`` instance, or the default MLP / CNN with
        ``hidden_units``, by default the parameter) and its width."""
        if self.module is None:
            hidden = self.hidden_units if hidden_units is None else hidden_units
            backbone = default_backbone(self.input_shape_, tuple(hidden))
        elif isinstance(self.module, type):
            backbone = self.module(**{k[len("module__"):]: v
                                      for k, v in self._module_params().items()})
        else:
            backbone = copy.deepcopy(self.module).to("cpu")
        return backbone, output_width(backbone, self.input_shape_)
