"""Methods of the face tasks: the per-data-set ``Config`` (sizes, backbone,
budget, CLMLE settings chosen on validation splits) and a factory per
method, all on the same MLP backbone and the same budget (samples seen)."""

import itertools
from dataclasses import dataclass, field

from sklearn_clmle import CLMLEEmbedder, KNearestClusterClassifier
from sklearn_clmle.embedding import LongTailNetClassifier

from ..common import steps_per_round
from .report import per_attribute_bacc


@dataclass(frozen=True)
class Config:
    """Data sizes, backbone, budget and method settings of one data set."""

    name: str
    epochs: int  # budget: passes over the training set, for every method
    hidden: tuple
    batch_size: int  # cross-entropy baselines
    warmup_epochs: int  # CLMLE's softmax warm-up (counts in the budget)
    clmle: dict  # CLMLEEmbedder settings
    imbalance_ratio: float = 100.0
    n_max: int = None  # head class of the long-tailed seen classes
    n_unseen: int = 3
    n_pairs: int = 20000
    n_distractors: int = 100
    n_enrol: int = 10  # enrolment draws for identification
    # attributes
    ml_epochs: int = 10
    ml_warmup_epochs: int = 4
    ml_clmle: dict = field(default_factory=dict)
    knc: dict = field(default_factory=dict)
    n_mosaics: tuple = (20000, 5000, 10000)  # train, validation, test
    pool: int = 1  # average-pooling of the tiles
    knc_cluster_sizes: tuple = (50, 200)  # tune-attributes' grid


CONFIGS = {
    "fmnist": Config(
        name="fmnist", epochs=15, hidden=(256, 128), batch_size=128,
        warmup_epochs=5, n_max=5000,
        # chosen by tune-verify / tune-attributes on validation splits of the
        # training side (see results/face/face_tasks.md)
        clmle=dict(embedding_dim=64, cluster_size=200, n_clusters_per_batch=12,
                   n_samples_per_cluster=20, scale=32.0),
        ml_warmup_epochs=7,
        ml_clmle=dict(embedding_dim=16, cluster_size=200, n_clusters_per_batch=12,
                      n_samples_per_cluster=20, scale=32.0),
        knc=dict(n_neighbors=100, cluster_size=200, scale=16.0, aggregate="min",
                 prior_correction=1.0),
        pool=2,
    ),
    "digits": Config(
        name="digits", epochs=100, hidden=(256, 128), batch_size=64,
        warmup_epochs=30, imbalance_ratio=10.0, n_pairs=4000,
        # the suite's digits settings, then scale and the classifier chosen by
        # tune-verify / tune-attributes --quick on validation splits
        clmle=dict(embedding_dim=32, cluster_size=20, n_clusters_per_batch=8,
                   n_samples_per_cluster=10, scale=64.0),
        ml_epochs=60, ml_warmup_epochs=20,
        ml_clmle=dict(embedding_dim=16, cluster_size=20, n_clusters_per_batch=8,
                      n_samples_per_cluster=10, scale=32.0),
        knc=dict(n_neighbors=100, cluster_size=20, scale=16.0, aggregate="min",
                 prior_correction=3.0),
        n_mosaics=(3000, 1000, 3000), knc_cluster_sizes=(5, 20),
    ),
}




def make_clmle(cfg, n, seed, *, multilabel=False, **overrides):
    params = dict(cfg.ml_clmle if multilabel else cfg.clmle)
    params.update(warmup_epochs=cfg.ml_warmup_epochs if multilabel
                  else cfg.warmup_epochs, n_rounds=5)
    params.update(overrides)
    epochs = cfg.ml_epochs if multilabel else cfg.epochs
    batch = params["n_clusters_per_batch"] * params["n_samples_per_cluster"]
    params.setdefault("steps_per_round", steps_per_round(
        n, epochs, params["warmup_epochs"], params["n_rounds"], batch))
    return CLMLEEmbedder(hidden_units=cfg.hidden, random_state=seed, device="cpu",
                         **params)


def make_net(cfg, seed, loss, *, multilabel=False, **params):
    return LongTailNetClassifier(
        hidden_units=cfg.hidden, loss=loss, batch_size=cfg.batch_size,
        epochs=cfg.ml_epochs if multilabel else cfg.epochs,
        random_state=seed, device="cpu", **params)


def make_triplet(cfg, n, n_classes, seed):
    """Batch-hard triplet loss, P classes x K samples with CLMLE's batch shape
    (as in benchmarks/suite/methods.py), the same warm-up and budget."""
    from sklearn_clmle import MetricEmbedder

    p = min(cfg.clmle["n_clusters_per_batch"], n_classes)
    k = cfg.clmle["n_samples_per_cluster"]
    return MetricEmbedder(
        loss="triplet", hidden_units=cfg.hidden,
        embedding_dim=cfg.clmle["embedding_dim"], n_classes_per_batch=p,
        n_samples_per_class=k, warmup_epochs=cfg.warmup_epochs, n_rounds=5,
        steps_per_round=steps_per_round(n, cfg.epochs, cfg.warmup_epochs, 5, p * k),
        random_state=seed, device="cpu")


def has_triplet():
    try:
        from sklearn_clmle import MetricEmbedder  # noqa: F401
    except (ImportError, AttributeError):
        return False
    return True


def verify_methods(cfg, n, n_classes, seed, clmle_overrides=None):
    """name -> unfitted embedder (``fit(X, y)`` then ``transform(X)``)."""
    methods = {
        "CLMLE": make_clmle(cfg, n, seed, **(clmle_overrides or {})),
        "CE": make_net(cfg, seed, "ce"),
        "weighted CE": make_net(cfg, seed, "weighted_ce"),
        "CosFace": make_net(cfg, seed, "cosface"),
        "ArcFace": make_net(cfg, seed, "arcface"),
    }
    if has_triplet():
        methods["triplet"] = make_triplet(cfg, n, n_classes, seed)
    return methods




def attribute_methods(cfg, n, seed, clmle_overrides=None, knc_overrides=None):
    """name -> unfitted multi-label predictor (``fit(X, Y)``, ``predict``)."""
    from sklearn.pipeline import make_pipeline

    knc = dict(cfg.knc, **(knc_overrides or {}))
    return {
        "CLMLE + KNC": make_pipeline(
            make_clmle(cfg, n, seed, multilabel=True, **(clmle_overrides or {})),
            KNearestClusterClassifier(multilabel_features="blocks",
                                      random_state=seed, **knc)),
        "weighted BCE": make_net(cfg, seed, "weighted_ce", multilabel=True),
        "BCE": make_net(cfg, seed, "ce", multilabel=True),
    }


# cluster_size comes from Config.knc_cluster_sizes (10 is left out on
# Fashion-MNIST: on 20,000 mosaics its 2,000 equal-size clusters per attribute
# take about 30 s an attribute to fit).
KNC_GRID = dict(
    n_neighbors=(10, 30, 100),
    aggregate=("min", "max"),
    prior_correction=(1.0, 2.0, 3.0, 4.0),
)


def knc_grid_scores(Z_train, Y_train, Z_val, Y_val, scales, cluster_sizes, seed,
                    grid=KNC_GRID):
    """Validation mean balanced accuracy of per-attribute KNC over a grid
    (one clustering per cluster_size)."""
    out = {}
    for size in cluster_sizes:
        clf = KNearestClusterClassifier(cluster_size=size, multilabel_features="blocks",
                                        random_state=seed).fit(Z_train, Y_train)
        for nb, sc, agg, tau in itertools.product(
                grid["n_neighbors"], scales, grid["aggregate"],
                grid["prior_correction"]):
            for est in clf.estimators_:
                est.set_params(n_neighbors=nb, scale=sc, aggregate=agg,
                               prior_correction=tau)
            key = (("cluster_size", size), ("n_neighbors", nb), ("scale", sc),
                   ("aggregate", agg), ("prior_correction", tau))
            out[key] = per_attribute_bacc(Y_val, clf.predict(Z_val)).mean()
    return out


# -- results -----------------------------------------------------------------
