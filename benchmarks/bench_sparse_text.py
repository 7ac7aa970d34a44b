"""Benchmark: SphericalKMeans on sparse TF-IDF text against scikit-learn's KMeans.

The corpus is WordNet 3.0 (Princeton; the Debian package ``wordnet-base``,
``apt-get install wordnet-base``, 6.5 MB, installed under
``/usr/share/wordnet``; WordNet licence, free to use with its notice): every
synset is one document, its words and its gloss ("a member of the genus
Canis ...; the dog barked all night"), 117,659 documents over nouns, verbs,
adjectives and adverbs.  Each document also carries WordNet's lexicographer
file (``noun.animal``, ``verb.motion``, ... 45 of them, from 18 to 11,500
documents each) as a reference labelling.  Nothing is downloaded.

The documents become L2-normalised TF-IDF vectors (``TfidfVectorizer``,
English stop words removed, terms in at least ``--min-df`` documents) in one
CSR matrix, which every method gets as it is (sparse):

- ``SphericalKMeans`` (``init="auto"``) and ``SphericalKMeans(equal_size=True)``;
- ``sklearn.cluster.KMeans(algorithm="lloyd")``, k-means++ seeding, Euclidean
  on the unit rows (on unit vectors Euclidean and cosine k-means differ only in
  that KMeans' centroids are not re-normalised).

Every method gets the same ``n_clusters``, ``n_init=1``, ``max_iter`` and
``tol=0`` (so each runs ``max_iter`` iterations unless it converges exactly)
and ``random_state=0``, on one thread and on every core.  Reported:

- fit time, and its ratio to KMeans' on the same number of threads;
- mean cosine similarity of each document to its assigned centroid (KMeans'
  centroids normalised first);
- normalised mutual information with the lexicographer files (a sanity
  check that the clusters mean something, not a goal);
- smallest and largest cluster size;
- peak memory of ``fit`` traced by ``tracemalloc`` (numpy and scipy buffers;
  in a separate, untimed run) as a multiple of the CSR matrix's bytes.

Run::

    python benchmarks/bench_sparse_text.py            # full corpus
    python benchmarks/bench_sparse_text.py --quick    # 5,000 documents, k=20

Results go to ``benchmarks/results/cluster/sparse_text.{md,csv}`` (``--quick``:
``sparse_text_quick.{md,csv}``).
"""

import argparse
import csv
import os
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import normalized_mutual_info_score
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import add_busy_argument, check_quiet, timed_fits, traced_peak  # noqa: E402
from sklearn_clmle import SphericalKMeans  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "cluster"
WORDNET_DIR = Path("/usr/share/wordnet")

# lexnames(5WN): the lexicographer file of each lex_filenum
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact "
    "noun.attribute noun.body noun.cognition noun.communication noun.event "
    "noun.feeling noun.food noun.group noun.location noun.motive noun.object "
    "noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance noun.time "
    "verb.body verb.change verb.cognition verb.communication verb.competition "
    "verb.consumption verb.contact verb.creation verb.emotion verb.motion "
    "verb.perception verb.possession verb.social verb.stative verb.weather "
    "adj.ppl"
).split()


def load_wordnet_glosses(directory=WORDNET_DIR):
    """Documents (synset words and gloss) and lexicographer files of WordNet.

    Parameters
    ----------
    directory : path-like, default="/usr/share/wordnet"
        A directory holding WordNet 3.0's ``data.noun``, ``data.verb``,
        ``data.adj`` and ``data.adv`` (the Debian package ``wordnet-base``).

    Returns
    -------
    docs : list of str
    labels : ndarray of str, the lexicographer file of each document
    """
    directory = Path(directory)
    paths = [directory / f"data.{pos}" for pos in ("noun", "verb", "adj", "adv")]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"WordNet data files not found: {', '.join(missing)}. Install the "
            "Debian package wordnet-base (apt-get install wordnet-base) or "
            "pass --wordnet-dir with a WordNet 3.0 dict directory."
        )
    docs, labels = [], []
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("  "):  # the licence header
                    continue
                head, _, gloss = line.partition(" | ")
                fields = head.split()
                # offset lex_filenum ss_type w_cnt(hex) word lex_id ...
                n_words = int(fields[3], 16)
                words = fields[4 : 4 + 2 * n_words : 2]
                words = [re.sub(r"\(.*\)$", "", w).replace("_", " ") for w in words]
                docs.append(" ".join(words) + ". " + gloss.strip())
                labels.append(LEXNAMES[int(fields[1])])
    return docs, np.asarray(labels)


def tfidf(docs, min_df, dtype):
    vectorizer = TfidfVectorizer(
        stop_words="english", min_df=min_df, sublinear_tf=True, dtype=dtype
    )
    X = vectorizer.fit_transform(docs).tocsr()
    nonempty = np.diff(X.indptr) > 0  # documents left with no kept term
    return X, nonempty, len(vectorizer.vocabulary_)


def mean_cosine(X, centers, labels):
    """Mean over rows of cos(x, centroid of x); X has unit rows (CSR)."""
    c = centers / np.linalg.norm(centers, axis=1, keepdims=True)
    owner = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    cos = np.bincount(
        owner, weights=X.data * c[labels[owner], X.indices], minlength=X.shape[0]
    )
    return float(cos.mean())


def estimators(k, max_iter):
    common = dict(n_init=1, max_iter=max_iter, tol=0.0, random_state=0)
    return {
        "KMeans (lloyd)": lambda: KMeans(k, algorithm="lloyd", **common),
        "SphericalKMeans": lambda: SphericalKMeans(k, **common),
        "SphericalKMeans equal_size": lambda: SphericalKMeans(
            k, equal_size=True, **common
        ),
    }


def csr_bytes(X):
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wordnet-dir", default=str(WORDNET_DIR))
    parser.add_argument(
        "--n-docs", type=int, default=None,
        help="a random subset of this many documents (default: all)",
    )
    parser.add_argument("--n-clusters", type=int, default=500)
    parser.add_argument("--max-iter", type=int, default=30)
    parser.add_argument("--min-df", type=int, default=2)
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, os.cpu_count()])
    parser.add_argument(
        "--quick", action="store_true",
        help="smoke run: 5,000 documents, k=20, 10 iterations, every core",
    )
    parser.add_argument("--out", default=None)
    add_busy_argument(parser)
    args = parser.parse_args()
    machine = check_quiet(args.allow_busy, "bench_sparse_text.py")
    if args.quick:
        args.n_docs, args.n_clusters, args.max_iter = 5_000, 20, 10
        args.threads = [os.cpu_count()]
    out = args.out or ("sparse_text_quick" if args.quick else "sparse_text")

    t0 = time.perf_counter()
    docs, lexnames = load_wordnet_glosses(args.wordnet_dir)
    n_corpus = len(docs)
    if args.n_docs is not None and args.n_docs < n_corpus:
        rng = np.random.default_rng(0)
        keep = np.sort(rng.choice(n_corpus, args.n_docs, replace=False))
        docs, lexnames = [docs[i] for i in keep], lexnames[keep]
    X, nonempty, n_terms = tfidf(docs, args.min_df, np.dtype(args.dtype))
    n_empty = int((~nonempty).sum())
    X, lexnames = X[np.flatnonzero(nonempty)], lexnames[nonempty]
    prep_s = time.perf_counter() - t0
    density = X.nnz / (X.shape[0] * X.shape[1])
    dense_gib = X.shape[0] * X.shape[1] * X.dtype.itemsize / 2**30
    print(
        f"{X.shape[0]:,} documents x {n_terms:,} terms, {X.nnz:,} non-zeros "
        f"(density {density:.2e}), {n_empty} empty documents dropped; "
        f"prepared in {prep_s:.1f} s",
        flush=True,
    )

    k = args.n_clusters
    makers = estimators(k, args.max_iter)

    def measure(est):
        sizes = np.bincount(est.labels_, minlength=k)
        return dict(mean_cos=mean_cosine(X, est.cluster_centers_, est.labels_),
                    nmi=normalized_mutual_info_score(lexnames, est.labels_),
                    min_size=int(sizes.min()), max_size=int(sizes.max()))

    rows = timed_fits(makers, X, args.threads, measure)
    with threadpool_limits(limits=args.threads[-1]):
        peaks = {name: traced_peak(make, X) for name, make in makers.items()}
    for row in rows:
        row["peak_mem_x"] = peaks[row["method"]] / csr_bytes(X)
        ref = next(
            r for r in rows
            if r["threads"] == row["threads"] and r["method"] == "KMeans (lloyd)"
        )
        row["time_vs_kmeans"] = row["fit_s"] / ref["fit_s"]

    RESULTS.mkdir(parents=True, exist_ok=True)
    fields = [
        "threads", "method", "fit_s", "time_vs_kmeans", "n_iter", "mean_cos",
        "nmi", "min_size", "max_size", "peak_mem_x",
    ]
    with open(RESULTS / f"{out}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows({f: r[f] for f in fields} for r in rows)
    command = "python benchmarks/bench_sparse_text.py" + (
        " --quick" if args.quick else ""
    )
    lines = [
        "# SphericalKMeans vs KMeans (lloyd) on sparse TF-IDF text",
        "",
        f"Corpus: WordNet 3.0 synsets (words + gloss), {X.shape[0]:,} of "
        f"{n_corpus:,} documents ({n_empty} left empty by the vocabulary and "
        f"dropped); TF-IDF over {n_terms:,} terms (min_df={args.min_df}, English "
        f"stop words, sublinear tf), L2-normalised, {args.dtype} CSR: "
        f"{X.nnz:,} non-zeros (density {density:.1e}), "
        f"{csr_bytes(X) / 2**20:.1f} MiB ({dense_gib:.1f} GiB if dense). "
        f"k={k:,}; n_init=1, max_iter={args.max_iter}, tol=0, "
        f"random_state=0 for every method. Machine: "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores.",
        "",
        f"Command: `{command}`",
        "",
        "| threads | method | fit (s) | × KMeans time | iterations "
        "| mean cos to centroid | NMI with lexicographer files | cluster sizes "
        "| peak memory (× CSR X) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['threads']} | {r['method']} | {r['fit_s']:.2f} | "
            f"{r['time_vs_kmeans']:.2f} | {r['n_iter']} | {r['mean_cos']:.4f} | "
            f"{r['nmi']:.3f} | {r['min_size']}-{r['max_size']} | "
            f"{r['peak_mem_x']:.2f} |"
        )
    lines[1:1] = ["", machine.summary()]
    (RESULTS / f"{out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
