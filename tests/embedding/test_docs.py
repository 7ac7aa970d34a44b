"""The shared doc fragments of the torch estimators (``_docs.fill_doc``)."""

import pytest

pytest.importorskip("torch")

from sklearn_clmle import CLMLEEmbedder, MetricEmbedder  # noqa: E402
from sklearn_clmle.embedding import LongTailNetClassifier  # noqa: E402
from sklearn_clmle.embedding._docs import fill_doc  # noqa: E402


def test_placeholder_lines_become_the_fragments_at_their_indent():
    class Doc:
        """Title.

        Parameters
        ----------
        {{device, distributed}}
        x : int
            Other.
        """

    doc = fill_doc(Doc).__doc__
    assert "{{" not in doc
    # the placeholder stood 8 columns in: so do the entries, and their
    # descriptions 4 more
    assert '\n        device : {"auto", "cpu", "cuda"} or str, default="auto"\n' \
           '            Torch device for training and inference;' in doc
    assert '\n        distributed : "auto" or bool' in doc
    assert doc.index("distributed :") < doc.index("x : int")


def test_an_unknown_fragment_is_an_error():
    class Doc:
        """{{no_such_fragment}}
        """

    with pytest.raises(KeyError, match="no_such_fragment"):
        fill_doc(Doc)


@pytest.mark.parametrize("cls", [CLMLEEmbedder, MetricEmbedder, LongTailNetClassifier])
def test_every_parameter_is_documented_once(cls):
    doc = cls.__doc__
    assert "{{" not in doc
    for name in cls._parameter_constraints:
        assert doc.count(f"\n    {name} : ") == 1, name
