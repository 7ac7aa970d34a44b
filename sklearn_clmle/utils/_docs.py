"""Numpydoc written once (private): fragments of docstrings that several
estimators share, and ``doc_filler``, which makes the decorator that puts
them in place.

A line ``{{name}}`` or ``{{name, other}}`` of a class docstring, or of the
docstring of a method defined in the class body, becomes those fragments,
indented as the line was.  ``help()``, Sphinx and the doctests see the
filled docstrings.  ``COMMON`` holds what estimators of every subpackage
share; a subpackage adds its own (``embedding/_docs.py``).

So that a docstring stays readable in the source, a fragment's name says
what it holds (``tests/test_docstrings.py`` checks it):

- a fragment of one numpydoc entry is named after that parameter or
  attribute, alone (``batch_size``, ``n_features_in_``) or with a qualifier
  after an underscore (``X_new``, ``y_ignored``); so the placeholder
  ``{{batch_size, device, random_state}}`` reads as the parameter list it
  is, and ``grep "    batch_size : "`` finds the text;
- a fragment that opens a section starts with that section's name
  (``params_X_new``, ``returns_self``, ``returns_bunch``);
- prose ends in ``_notes`` (a Notes paragraph, or sentences inside an
  entry), and references start with ``ref_``.
"""

import re
import textwrap

__all__ = ["COMMON", "doc_filler", "fill_doc"]

COMMON = {
    "params_X_new": """
        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            New data.
        """,
    "params_X_query": """
        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Query features.
        """,
    "sample_weight": """
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.
        """,
    # the loaders of ``datasets``
    "return_X_y": """
        return_X_y : bool, default=False
            If True, return ``(data, target)`` instead of a Bunch.
        """,
    "returns_bunch": """
        Returns
        -------
        data : :class:`~sklearn.utils.Bunch`
            Dictionary-like object with attributes:
        """,
    "n_features_in_": """
        n_features_in_ : int
            Number of features seen during fit.
        """,
    "feature_names_in_": """
        feature_names_in_ : ndarray of shape (`n_features_in_`,)
            Names of features seen during fit; only when ``X`` has string feature
            names.
        """,
    "unfitted_notes": """
        A ``fit`` that raises or is interrupted (``KeyboardInterrupt``) re-raises
        the exception and leaves the estimator unfitted, as a new one.  A pickled
        estimator warns (``sklearn_clmle.exceptions.InconsistentVersionWarning``)
        when loaded by another version of sklearn-clmle.
        """,
    "y_ignored": """
        y : Ignored
            Not used, present for API consistency.
        """,
    "returns_self": """
        Returns
        -------
        self : object
            Fitted estimator.
        """,
    # the CLMLE paper (the line after the placeholder may name a section)
    "ref_clmle": """
        Huang, Li, Loy & Tang, "Deep Imbalanced Learning for Face Recognition and
        Attribute Prediction", IEEE TPAMI, 2019.
        """,
}
# the References section of a docstring that cites the CLMLE paper alone
COMMON["references_clmle"] = ("References\n----------\n"
                              + textwrap.dedent(COMMON["ref_clmle"]).lstrip("\n"))

_PLACEHOLDER = re.compile(r"^( *)\{\{([\w, ]+)\}\}\n", re.MULTILINE)


def _fill(doc, fragments):
    def put(match):
        indent, names = match.groups()
        texts = []
        for name in (n.strip() for n in names.split(",")):
            if name not in fragments:
                raise KeyError(f"no shared doc fragment {name!r}; known: "
                               f"{', '.join(sorted(fragments))}")
            texts.append(textwrap.dedent(fragments[name]).strip("\n") + "\n")
        return textwrap.indent("".join(texts), indent, lambda line: line.strip())

    return _PLACEHOLDER.sub(put, doc)


def doc_filler(*registries):
    """The decorator ``fill_doc`` of ``COMMON`` and ``registries`` (dicts of
    fragments): it fills the docstring of a function, or of a class and of
    the methods its body defines, and returns what it decorated."""
    fragments = {k: v for r in (COMMON, *registries) for k, v in r.items()}

    def fill_doc(cls):
        if cls.__doc__:
            cls.__doc__ = _fill(cls.__doc__, fragments)
        if not isinstance(cls, type):
            return cls
        for attr in vars(cls).values():
            doc = getattr(attr, "__doc__", None)
            if callable(attr) and doc and "{{" in doc:
                attr.__doc__ = _fill(doc, fragments)
        return cls

    return fill_doc


# the decorator of the estimators outside ``embedding`` (COMMON only)
fill_doc = doc_filler()
