"""Docs shared by the torch estimators (private): numpydoc fragments of the
parameters, attributes and notes that mean the same in ``CLMLEEmbedder``,
``MetricEmbedder`` and ``LongTailNetClassifier``, written once, and
``fill_doc``, the class decorator that puts them (and ``utils._docs.COMMON``)
in their docstrings: a line ``{{name}}`` or ``{{name, other}}`` becomes those
fragments, indented as the line was.
"""

from ..utils._docs import doc_filler

__all__ = ["FRAGMENTS", "fill_doc"]

FRAGMENTS = {
    # -- parameters ----------------------------------------------------------
    "module_class_notes": """
        A ``torch.nn.Module`` *class* is instantiated at ``fit`` with the
        ``module__*`` parameters, e.g. ``module=MyNet, module__width=64``;
        they are parameters like any other (``get_params``, ``set_params``,
        ``GridSearchCV``), as in skorch.
        """,
    "input_shape": """
        input_shape : tuple of int or None, default=None
            Shape of one sample as the module expects it, when ``X`` is flat
            (e.g. ``(28, 28)`` for 784 pixel columns).  ``None``: ``X.shape[1:]``.
        """,
    "hidden_units": """
        hidden_units : tuple of int, default=(256, 128)
            Widths of the default MLP (ignored when ``module`` is given).
        """,
    "optimizer": """
        optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
            Optimiser (``"sgd"`` uses momentum 0.9); a class is called as
            ``optimizer(params, lr=..., weight_decay=...)``.  The embedders
            (``CLMLEEmbedder``, ``MetricEmbedder``) build a fresh one for the
            warm-up and one for the rounds.
        """,
    "learning_rate": """
        learning_rate : float, default=1e-3
            Learning rate.
        """,
    "batch_size": """
        batch_size : int, default=256
            Rows per forward pass in ``transform``, feature re-extraction and
            the held-out rows' loss.  The default suits a CPU's caches (the
            small CNN's activations stay in cache); raise it on a GPU.
        """,
    "device": """
        device : {"auto", "cpu", "cuda"} or str, default="auto"
            Torch device for training and inference; ``"auto"``: CUDA when
            available.  Any torch device string (``"cuda:1"``, ``"mps"``) is
            checked at ``fit``: a device that is not available here is a
            ``ValueError``.  The fitted module is always stored on the CPU;
            a model saved with a device this machine lacks loads with
            ``device="cpu"`` and a warning.
        """,
    "random_state": """
        random_state : int, RandomState instance or None, default=None
            Seeds weight initialisation, shuffling, batch sampling and k-means.
            With an int, fitting twice on the CPU gives the same embeddings.  The
            global torch random state is left as it was.
        """,
    "distributed": """
        distributed : "auto" or bool, default="auto"
            Data-parallel training over ``torch.distributed`` (see Notes).
            ``"auto"``: when the script has initialised the default process group
            with more than one process (e.g. launched with ``torchrun
            --nproc_per_node=N``), the processes train one model together, each
            on its slice of every batch; otherwise a plain fit.  ``True``: the
            same, and an error without a process group.  ``False``: a plain,
            independent fit on every process.
        """,
    "callbacks": """
        callbacks : list of skorch callbacks or None, default=None
            skorch callbacks (or ``(name, callback)`` pairs) run during ``fit``,
            which runs on skorch's ``NeuralNet`` with one skorch epoch per warm-up
            epoch and per round, e.g. ``EarlyStopping(monitor="valid_loss")``
            (with a ``train_split``), ``LRScheduler``, ``Checkpoint``.  Each is
            cloned at ``fit``; the objects passed are not changed, their fitted
            copies are in ``callbacks_``.  See Notes for how they meet the two
            phases.  Scoring callbacks score the held-out rows with a
            callable, ``EpochScoring(fn, use_caching=False,
            lower_is_better=False)``: ``fn(net, X, y)`` gets the held-out rows
            ``X`` (a float32 tensor) and their encoded classes ``y``, and
            ``net.transform(X)`` embeds them.  A string scorer
            (``EpochScoring("balanced_accuracy")``) is refused with a
            ``ValueError``: an embedder has no ``predict`` to score.
        """,
    "train_split": """
        train_split : callable or None, default=None
            skorch's validation split, e.g.
            ``skorch.dataset.ValidSplit(0.2, stratified=True)``, called as
            skorch calls it, on a dataset of the row indices and the encoded
            targets (the class of each row, or the indicator matrix of a
            multi-label ``y``).  The held-out rows are never trained on: the
            warm-up batches, the clustering, the rounds' batches and the
            ``"auto"`` settings see the training rows only, so that the model
            is the one ``fit(X[train], y[train])`` gives.  Every warm-up epoch
            and round records ``valid_loss``, that phase's own objective on
            the held-out rows (see Notes), which ``EarlyStopping`` monitors.
            Every class needs training rows.  ``None``: train on all rows.
            Not available in a data-parallel fit (a ``ValueError``).
        """,
    "verbose": """
        verbose : int, default=0
            If positive, skorch's table of the epochs (one row per warm-up epoch
            and per round: ``train_loss``, ``valid_loss`` with a
            ``train_split``, ``dur``, the callbacks' scores; list-valued
            records such as ``step_loss`` stay in ``history_`` only), with a
            new header when the columns change (at the first round).
        """,
    "params_X_samples": """
        Parameters
        ----------
        X : array-like of the training samples' shape
            Samples.
        """,
    "X_fit": """
        X : array-like of shape (n_samples, ...)
            Training samples (numeric, finite): ``(n_samples, n_features)``,
            or images as ``(n_samples, height, width)`` or ``(n_samples,
            channels, height, width)``.
        """,
    # -- attributes ----------------------------------------------------------
    "input_shape_": """
        input_shape_ : tuple of int
            Shape of one sample as fed to the backbone.
        """,
    "callbacks_": """
        callbacks_ : list of (str, skorch.callbacks.Callback)
            skorch's fitted callbacks (its ``net.callbacks_``): skorch's
            defaults, the library's own and fitted copies of ``callbacks``,
            as ``(name, callback)`` pairs; e.g. ``dict(est.callbacks_)
            ["EarlyStopping"]``.
        """,
    "world_size_": """
        world_size_ : int
            Number of processes that trained the model (1 for a plain fit).
        """,
    # -- notes -----------------------------------------------------------------
    "phases_notes": """
        The warm-up and the rounds are two phases with their own objectives
        and optimisers, trained as two successive skorch fits, each with its
        own history (``history_`` joins them): the callbacks are initialised
        again at the start of the rounds, so skorch's ``LRScheduler``
        restarts, ``EarlyStopping`` starts counting again, and so do the
        ``*_best`` flags of the scores (which ``Checkpoint`` monitors).  The
        rows reach the network through skorch's ``Dataset``: a callback's
        ``on_batch_begin(net, batch=(Xi, yi))`` receives feature batches.  A callback's stop (``EarlyStopping``) during the warm-up
        ends the warm-up and the rounds follow; during the rounds it ends the
        fit, which keeps the module as it was at that epoch's end (or as
        ``EarlyStopping(load_best=True)`` restores it, at the end of each
        phase): the estimator is fitted.  ``valid_loss`` (with a ``train_split``) is computed after
        every warm-up epoch and round in eval mode, without gradients and
        without random numbers (the training is the same with or without it),
        on all the held-out rows as one batch.  In the warm-up it is the softmax term of training (same
        classifiers, class weights or logit offsets).
        """,
    "failure_notes": """
        A ``fit`` that fails (an exception from a user ``module``, a non-finite
        loss) or is interrupted (``KeyboardInterrupt``, e.g. Ctrl-C) re-raises
        the exception, with a note naming the training step (the epoch and
        batch; for the embedders the warm-up epoch and batch, or the round and
        step), and leaves the estimator unfitted, as a new one (no
        half-trained module is kept); the global torch random state is
        restored.  Pickles hold the module on the CPU, so a model trained on a
        GPU loads and runs on a machine without one (with ``device="auto"``
        or ``"cpu"``); loading by another version of sklearn-clmle warns with
        ``sklearn_clmle.exceptions.InconsistentVersionWarning``.  Inputs are
        used as they are (scale pixels to ``[0, 1]`` yourself).
        """,
    "data_parallel_notes": """
        Data-parallel training (``distributed``): under ``torchrun``, every rank
        calls ``fit`` with the same full ``X, y`` (checked; gather per-rank shards
        first) and ends with the same model, that of a 1-process fit up to float
        rounding; ``device=f"cuda:{local_rank}"`` on GPUs.  How the batches, the
        loss and any re-clustering are shared: ``sklearn_clmle.embedding.training
        .distributed``; a launch script: ``examples/torchrun_fit.py``.
        """,
}

fill_doc = doc_filler(FRAGMENTS)
