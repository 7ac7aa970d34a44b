"""load_font_glyphs on the DejaVu fonts that ship with matplotlib."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sklearn_clmle.datasets import load_font_glyphs

matplotlib = pytest.importorskip("matplotlib")
pytest.importorskip("PIL")
pytest.importorskip("fontTools")

TTF = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
DEJAVU = sorted(TTF.glob("DejaVu*.ttf"))
DIGITS = "0123456789"


def test_dejavu_is_there():
    names = {p.name for p in DEJAVU}
    assert {"DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf"} <= names


def test_fonts_task_shapes_and_labels():
    d = load_font_glyphs("fonts", font_paths=DEJAVU, characters=DIGITS,
                         n_identities=4, image_size=16, random_state=0)
    assert d.images.shape == (40, 16, 16) and d.images.dtype == np.float32
    assert d.data.shape == (40, 256)
    np.testing.assert_array_equal(d.data, d.images.reshape(40, -1))
    assert d.target.dtype == np.int64
    np.testing.assert_array_equal(d.target, np.repeat(np.arange(4), 10))
    assert 0.0 <= d.images.min() and d.images.max() <= 1.0
    assert (d.images.reshape(40, -1).max(axis=1) > 0.5).all()  # every glyph inked
    # identity = design: each identity draws every digit once, in its font
    for k in range(4):
        assert sorted(d.characters[d.target == k]) == list(DIGITS)
        assert set(d.fonts[d.target == k]) == {d.target_names[k]}
    assert len(set(d.target_names)) == 4
    # matplotlib's DejaVu files: Sans, Sans Mono and Serif in 4 styles each
    # draw the digits; the two "Display" faces do not
    names = sorted(Path(p).name for p, _, _ in d.font_files)
    assert names == sorted(p.name for p in DEJAVU if "Display" not in p.name)
    assert len(names) == 12
    assert "Font glyphs" in d.DESCR


def test_characters_task_one_sample_per_design():
    d = load_font_glyphs("characters", font_paths=DEJAVU, characters="ABC",
                         n_max=8, image_size=12, padding=1, random_state=3)
    assert d.images.shape == (24, 12, 12)
    assert sorted(d.target_names) == ["A", "B", "C"]
    for k in range(3):
        assert set(d.characters[d.target == k]) == {d.target_names[k]}
        fonts = d.fonts[d.target == k]
        assert len(set(fonts)) == len(fonts) == 8


def test_power_law_sizes_worked_by_hand():
    # f(c) = 6 / (1 + 2 (c - 1) / 7), c = 1..8: 6, 4.67, 3.82, 3.23, 2.8, 2.47,
    # 2.21, 2, rounded down
    d = load_font_glyphs("characters", font_paths=DEJAVU, characters="ABCDEFGH",
                         n_max=6, imbalance_ratio=3, image_size=8, padding=0,
                         random_state=0)
    assert np.bincount(d.target).tolist() == [6, 4, 3, 3, 2, 2, 2, 2]


def test_random_state_determinism():
    kw = dict(font_paths=DEJAVU, characters=DIGITS, n_identities=3,
              n_max=5, image_size=12)
    a = load_font_glyphs("fonts", random_state=7, **kw)
    b = load_font_glyphs("fonts", random_state=7, **kw)
    c = load_font_glyphs("fonts", random_state=8, **kw)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.characters, b.characters)
    np.testing.assert_array_equal(a.fonts, b.fonts)
    assert not np.array_equal(a.images, c.images)


def _by_key(d):
    return {(f, ch): img for f, ch, img in zip(d.fonts, d.characters, d.images)}


def test_jitter_makes_samples_differ():
    kw = dict(font_paths=DEJAVU, characters=DIGITS, image_size=16)
    still = dict(shift=0.0, scale=0.0, stroke=0.0)
    a = _by_key(load_font_glyphs("fonts", random_state=0, **still, **kw))
    b = _by_key(load_font_glyphs("fonts", random_state=1, **still, **kw))
    assert a.keys() == b.keys()
    # no jitter: a design's glyph is the same picture whatever the seed
    assert all(np.array_equal(a[k], b[k]) for k in a)
    c = _by_key(load_font_glyphs("fonts", random_state=0, **kw))
    d = _by_key(load_font_glyphs("fonts", random_state=1, **kw))
    differ = [not np.array_equal(c[k], d[k]) for k in c]
    assert np.mean(differ) > 0.9
    # small jitter: still the same glyph, roughly
    k = next(iter(c))
    assert np.abs(c[k] - a[k]).mean() < 0.25


def test_padding_leaves_a_blank_border():
    d = load_font_glyphs("fonts", font_paths=DEJAVU, characters=DIGITS,
                         n_identities=2, image_size=20, padding=3, shift=0.0,
                         stroke=0.0, random_state=0)
    border = np.ones((20, 20), bool)
    border[3:17, 3:17] = False
    assert d.images[:, border].max() == 0.0
    # the glyph fills its box along its longer side
    inner = d.images[:, 3:17, 3:17] > 0
    assert (inner[:, [0, -1], :].any(axis=(1, 2))
            | inner[:, :, [0, -1]].any(axis=(1, 2))).all()


def test_identical_outlines_count_as_one_design(tmp_path):
    sans = TTF / "DejaVuSans.ttf"
    for name in ("a.ttf", "b.ttf"):
        shutil.copy(sans, tmp_path / name)
    shutil.copy(TTF / "DejaVuSerif.ttf", tmp_path / "c.ttf")
    d = load_font_glyphs("fonts", font_paths=tmp_path, characters=DIGITS,
                         random_state=0)
    assert [Path(p).name for p, _, _ in d.font_files] == ["a.ttf", "c.ttf"]
    assert np.bincount(d.target).tolist() == [10, 10]


def test_directories_are_searched_recursively(tmp_path):
    (tmp_path / "x" / "y").mkdir(parents=True)
    shutil.copy(TTF / "DejaVuSans.ttf", tmp_path / "x" / "y" / "s.ttf")
    (tmp_path / "notes.txt").write_text("not a font")
    d = load_font_glyphs("characters", font_paths=str(tmp_path), characters="xy",
                         random_state=0)
    assert len(d.font_files) == 1 and d.images.shape[0] == 2


def test_no_fonts_names_the_packages(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install fonts-ipafont"):
        load_font_glyphs("characters", font_paths=tmp_path)
    with pytest.raises(FileNotFoundError, match="apt-get install fonts-liberation"):
        load_font_glyphs("fonts", font_paths=[tmp_path / "missing"])
    # fonts exist but none draws the characters (DejaVu has no kanji)
    with pytest.raises(FileNotFoundError, match="None of the .* draws any"):
        load_font_glyphs("characters", font_paths=DEJAVU, characters="永語")


@pytest.mark.parametrize("kwargs, match", [
    (dict(task="faces"), "task='faces' is not supported"),
    (dict(image_size=4), "image_size=4 should be an integer >= 8"),
    (dict(padding=-1), "padding=-1 should be an integer >= 0"),
    (dict(padding=8, image_size=16), "padding=8 leaves no room"),
    (dict(shift=-1.0), r"shift=-1.0 should be a number in \[0.0, 8.0\]"),
    (dict(scale=0.9), "scale=0.9 should be a number"),
    (dict(stroke="big"), "stroke='big' should be a number"),
    (dict(n_identities=0), "n_identities=0 should be an integer >= 1"),
    (dict(n_max=2.5), "n_max=2.5 should be an integer >= 1"),
    (dict(imbalance_ratio=0.5), "imbalance_ratio"),
    (dict(gamma=0.0), "gamma"),
    (dict(characters="aab"), "should not repeat"),
    (dict(characters="a b"), "white space"),
    (dict(characters=["ab"]), "single characters; got 'ab'"),
    (dict(characters=""), "at least one character"),
    (dict(n_identities=50), r"n_identities=50 identities with n_max=10 .* but "
                            r"\d+ of the \d+ candidate fonts"),
    (dict(task="characters", n_max=100), "n_max=100 samples"),
])
def test_bad_parameters(kwargs, match):
    kwargs = dict(dict(task="fonts", font_paths=DEJAVU, characters=DIGITS),
                  **kwargs)
    task = kwargs.pop("task")
    with pytest.raises(ValueError, match=match):
        load_font_glyphs(task, **kwargs)


def test_bad_types():
    with pytest.raises(TypeError, match="font_paths=123 should be a path"):
        load_font_glyphs("fonts", font_paths=123)
    with pytest.raises(TypeError, match="font_paths should hold paths; got 5"):
        load_font_glyphs("fonts", font_paths=[DEJAVU[0], 5])
    with pytest.raises(TypeError, match="characters=7 should be a string"):
        load_font_glyphs("fonts", font_paths=DEJAVU, characters=7)


def test_inputs_are_not_modified():
    paths, chars = list(DEJAVU), list(DIGITS)
    load_font_glyphs("fonts", font_paths=paths, characters=chars, n_identities=1,
                     image_size=8, padding=0, random_state=0)
    assert paths == DEJAVU and chars == list(DIGITS)


def test_pillow_and_fonttools_are_imported_lazily():
    code = ("import sys, sklearn_clmle.datasets\n"
            "bad = sorted(m for m in ('PIL', 'fontTools') if m in sys.modules)\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("blocked, load, words", [
    ("PIL", "_import_pillow", ["renders glyphs with Pillow (FreeType)", "pip install pillow"]),
    ("fontTools", "_import_fonttools",
     ["reads the fonts' character maps with fontTools", "pip install fonttools"]),
])
def test_a_missing_renderer_is_named_with_its_install_command(monkeypatch, blocked,
                                                              load, words):
    from sklearn_clmle.datasets import _glyph_render

    for name in [m for m in sys.modules if m == blocked or m.startswith(blocked + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, blocked, None)  # import refused
    with pytest.raises(ImportError) as info:
        getattr(_glyph_render, load)()
    message = str(info.value)
    assert message.startswith("load_font_glyphs ")
    for word in words + ["is not installed", "'benchmark' extra"]:
        assert word in message
    assert isinstance(info.value.__cause__, ImportError)
