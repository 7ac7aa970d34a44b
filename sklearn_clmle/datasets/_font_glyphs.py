"""Glyph images rendered from font files on disk (never downloaded).

Two many-identity image tasks follow from the fonts a Debian system installs
(``apt-get install fonts-...``): each character drawn by many independent
type designs (Omniglot-like: identity = character), and each type design
drawn over many characters (identity = font, a style seen in many "poses").
"""

import os
from numbers import Real

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ._checks import check_int
from ._glyph_render import (
    _SUPERSAMPLE,
    _distinct_designs,
    _faces_covering,
    _font_files,
    _Renderer,
)
from ._long_tailed import long_tailed_sizes

# Where Debian's font packages put their files.
DEFAULT_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")

# A few small packages of each kind, named in the error when nothing is found
# (benchmarks/face/fonts.py holds the benchmarks' full lists).
_SUGGESTED_PACKAGES = {
    "characters": "fonts-ipafont-gothic fonts-ipafont-mincho fonts-arphic-ukai "
    "fonts-arphic-uming fonts-wqy-microhei fonts-sawarabi-mincho "
    "fonts-aoyagi-soseki fonts-misaki fonts-vlgothic fonts-kouzan-mouhitsu",
    "fonts": "fonts-liberation fonts-dejavu-core fonts-freefont-ttf "
    "fonts-cantarell fonts-comic-neue fonts-ebgaramond fonts-inconsolata "
    "fonts-lobster fonts-oldstandard fonts-quicksand",
}

# CJK Unified Ideographs (the basic block).
_CJK_RANGE = (0x4E00, 0x9FFF)

LATIN_ALPHANUMERIC = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

def _check_real(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, Real) or not (
        low <= value <= high
    ):
        raise ValueError(f"{name}={value!r} should be a number in [{low}, {high}].")
    return float(value)


def _check_characters(characters, task):
    if characters is None:
        if task == "fonts":
            return list(LATIN_ALPHANUMERIC)
        return [chr(c) for c in range(_CJK_RANGE[0], _CJK_RANGE[1] + 1)]
    if isinstance(characters, str):
        characters = list(characters)
    try:
        characters = list(characters)
    except TypeError:
        raise TypeError(
            f"characters={characters!r} should be a string or a list of "
            "single characters."
        ) from None
    bad = [c for c in characters if not isinstance(c, str) or len(c) != 1]
    if bad:
        raise ValueError(
            f"characters should hold single characters; got {bad[0]!r}."
        )
    unique = list(dict.fromkeys(characters))
    if len(unique) != len(characters):
        raise ValueError("characters should not repeat a character.")
    if not unique:
        raise ValueError("characters should hold at least one character.")
    if any(c.isspace() for c in unique):
        raise ValueError("characters should not hold white space (it has no ink).")
    return unique


def _no_fonts_message(task, font_paths, why):
    return (
        f"{why} under font_paths={list(map(str, font_paths))}. Fonts are never "
        "downloaded: install Debian font packages, for instance `apt-get "
        f"install {_SUGGESTED_PACKAGES[task]}` (the benchmarks' full lists and "
        "an installer are in benchmarks/face/fonts.py and "
        "benchmarks/face/install_fonts.sh), or pass font_paths= to files or "
        "directories holding .ttf/.otf/.ttc fonts."
    )


def load_font_glyphs(
    task="characters",
    *,
    font_paths=None,
    characters=None,
    n_identities=None,
    n_max=None,
    imbalance_ratio=1.0,
    gamma=1.0,
    image_size=32,
    padding=2,
    shift=1.0,
    scale=0.1,
    stroke=0.5,
    random_state=None,
):
    """Render a many-identity image data set from font files on disk.

    Two tasks, each identity a class:

    - ``task="characters"`` (Omniglot-like): identity = a character; its
      samples are that character drawn by different type designs (one sample
      per design).  The default characters are the CJK Unified Ideographs:
      the Japanese and Chinese font packages draw thousands of them each.
    - ``task="fonts"`` (the closest to faces: a style seen in many "poses"):
      identity = a type design; its samples are different characters drawn
      in it (one sample per character), by default A-Z, a-z and 0-9.  Only
      the designs that draw every one of ``characters`` are used.

    Font files (``.ttf``, ``.otf``, ``.ttc``, ``.otc``; every face of a
    collection) are read from ``font_paths``; nothing is downloaded.  Faces
    that draw identical outlines (spacing variants such as IPAGothic and
    IPAPGothic, or forks that kept the glyphs) count as one design: the first
    face, in file path order, of each group whose renderings of 6 probe
    characters differ by less than 0.01 in mean grey level is kept (such
    variants differ by 0 to 0.006, distinct designs by 0.03 or more).  Faces
    that render none of the probes are left out.

    Identity sizes follow :func:`long_tailed_sizes` with the power-law
    profile: ``n_max`` samples for the largest identity down to ``n_max /
    imbalance_ratio`` for the smallest; which identity gets which quota, the
    samples of each identity and the jitter are drawn from ``random_state``.

    Each glyph is rendered at 4x the output resolution, its ink cropped,
    scaled (aspect ratio kept) to fill the square of side ``image_size - 2 *
    padding``, centred, and box-filtered down to ``image_size`` pixels.  The
    jitter makes samples of one identity more than pixel copies of a design:
    a random shift, scale and stroke width per sample.

    Parameters
    ----------
    task : {"characters", "fonts"}, default="characters"
        What an identity is: a character or a type design.
    font_paths : str, path or list of them, default=None
        Font files or directories (searched recursively).  ``None``: the
        directories Debian's font packages install into,
        ``/usr/share/fonts`` and ``/usr/local/share/fonts``.
    characters : str or list of str, default=None
        Characters to draw: the candidate identities for ``"characters"``,
        the poses of every identity for ``"fonts"``.  ``None``: the CJK
        Unified Ideographs U+4E00-U+9FFF for ``"characters"``, A-Z a-z 0-9
        for ``"fonts"``.
    n_identities : int, default=None
        Number of identities, drawn at random among those with at least
        ``n_max`` samples in the fonts' character maps; ``None``: all of
        them.  Glyphs that a map lists but that render blank (a font that
        maps characters it does not draw) or that FreeType refuses are
        skipped; an identity left with fewer samples than its quota is
        replaced by the next candidate (a ``ValueError`` when none is left).
    n_max : int, default=None
        Samples of the largest identity.  ``None``: the number of designs
        (``"characters"``; the characters every design draws) or of
        characters (``"fonts"``).
    imbalance_ratio : float, default=1.0
        Ratio between the largest and the smallest identity (``1``: every
        identity has ``n_max`` samples).
    gamma : float, default=1.0
        Exponent of the power law, see :func:`long_tailed_sizes`.
    image_size : int, default=32
        Side of the square images, in pixels (at least 8).
    padding : int, default=2
        Blank margin around the glyph's box, in pixels.
    shift : float, default=1.0
        Largest shift of the glyph along each axis, in (sub-)pixels, drawn
        uniformly per sample.
    scale : float, default=0.1
        The glyph fills a random fraction in ``[1 - scale, 1]`` of its box.
    stroke : float, default=0.5
        Largest extra stroke width in output pixels, drawn per sample in
        quarter-pixel steps (``0``: the outlines as designed).
    random_state : int, RandomState instance or None, default=None
        Draws of the identities, their quotas, their samples and the jitter.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        images : ndarray of shape (n_samples, image_size, image_size), float32
            Grey levels in [0, 1], ink = 1.
        data : ndarray of shape (n_samples, image_size * image_size), float32
            The images flattened.
        target : ndarray of shape (n_samples,), int64
            Identity of each sample, ``0 .. n_identities - 1``, the largest
            identity first (sizes non-increasing with the label).
        target_names : ndarray of shape (n_identities,), object
            The character or the design name of each identity.
        characters : ndarray of shape (n_samples,), object
            The character each sample draws.
        fonts : ndarray of shape (n_samples,), object
            The design name of each sample's face.
        font_files : list of (str, int, str)
            Path, face index and name of every design used (after removing
            duplicates), in path order.
        DESCR : str
            Description of the data.

    Raises
    ------
    FileNotFoundError
        No usable font under ``font_paths``; the message names Debian
        packages to install.
    ValueError
        A parameter out of range, or fewer identities with ``n_max`` samples
        available than ``n_identities``.

    Examples
    --------
    Glyphs of matplotlib's DejaVu fonts (they come with matplotlib): four
    design identities over the ten digits, ten images each:

    >>> from pathlib import Path
    >>> import matplotlib
    >>> import numpy as np
    >>> from sklearn_clmle.datasets import load_font_glyphs
    >>> ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    >>> dejavu = sorted(ttf.glob("DejaVu*.ttf"))
    >>> fonts = load_font_glyphs("fonts", font_paths=dejavu,
    ...                          characters="0123456789", n_identities=4,
    ...                          image_size=16, random_state=0)
    >>> fonts.images.shape, fonts.data.shape, np.bincount(fonts.target).tolist()
    ((40, 16, 16), (40, 256), [10, 10, 10, 10])
    >>> float(fonts.images.min()), float(fonts.images.max()) <= 1.0
    (0.0, True)

    Characters as identities, long-tailed (power law from 6 designs down to
    2):

    >>> chars = load_font_glyphs("characters", font_paths=dejavu,
    ...                          characters="ABCDEFGH", n_max=6,
    ...                          imbalance_ratio=3, random_state=0)
    >>> np.bincount(chars.target).tolist()
    [6, 4, 3, 3, 2, 2, 2, 2]
    >>> len(set(chars.fonts[chars.target == 0]))  # one sample per design
    6
    """
    if task not in ("characters", "fonts"):
        raise ValueError(
            f"task={task!r} is not supported; expected 'characters' or 'fonts'."
        )
    if font_paths is None:
        font_paths = list(DEFAULT_FONT_DIRS)
    elif isinstance(font_paths, (str, os.PathLike)):
        font_paths = [font_paths]
    else:
        try:
            font_paths = list(font_paths)
        except TypeError:
            raise TypeError(
                f"font_paths={font_paths!r} should be a path or a list of paths."
            ) from None
    bad = [p for p in font_paths if not isinstance(p, (str, os.PathLike))]
    if bad:
        raise TypeError(f"font_paths should hold paths; got {bad[0]!r}.")
    characters = _check_characters(characters, task)
    if n_identities is not None:
        n_identities = check_int(n_identities, "n_identities", 1)
    if n_max is not None:
        n_max = check_int(n_max, "n_max", 1)
    image_size = check_int(image_size, "image_size", 8)
    padding = check_int(padding, "padding", 0)
    if 2 * padding >= image_size - 1:
        raise ValueError(
            f"padding={padding} leaves no room for the glyph in image_size="
            f"{image_size}; expected padding < (image_size - 1) / 2."
        )
    shift = _check_real(shift, "shift", 0.0, image_size / 4)
    scale = _check_real(scale, "scale", 0.0, 0.5)
    stroke = _check_real(stroke, "stroke", 0.0, image_size / 4)
    # imbalance_ratio and gamma are checked by long_tailed_sizes (below, once
    # the number of identities is known); check them now for early errors
    long_tailed_sizes(1, imbalance_ratio=imbalance_ratio, profile="power_law",
                      n_max=1, gamma=gamma)
    rng = check_random_state(random_state)

    files = _font_files(font_paths)
    if not files:
        raise FileNotFoundError(_no_fonts_message(task, font_paths,
                                                  "No font file was found"))
    faces = _faces_covering(files, characters, task)
    if not faces:
        what = ("draws all of the characters" if task == "fonts"
                else "draws any of the characters")
        raise FileNotFoundError(_no_fonts_message(
            task, font_paths, f"None of the {len(files)} font files found {what}"))
    renderer = _Renderer(image_size, padding)
    designs = _distinct_designs(faces, renderer, characters)

    # available samples of every candidate identity
    if task == "characters":
        identities = characters
        available = {c: [d for d, face in enumerate(designs) if ord(c) in face[3]]
                     for c in characters}
    else:
        identities = list(range(len(designs)))
        available = {d: list(range(len(characters))) for d in identities}
    default_max = len(designs) if task == "characters" else len(characters)
    if n_max is None:
        n_max = default_max
    candidates = [i for i in identities if len(available[i]) >= n_max]
    if n_identities is None:
        n_identities = len(candidates)
    if n_identities == 0 or n_identities > len(candidates):
        unit = "designs" if task == "characters" else "characters"
        raise ValueError(
            f"n_identities={n_identities} identities with n_max={n_max} "
            f"samples were asked for, but {len(candidates)} of the "
            f"{len(identities)} candidate {task} have {n_max} {unit} or more "
            f"(among {len(designs)} distinct designs found under font_paths); "
            "lower n_max or n_identities, or install more fonts."
        )
    sizes = long_tailed_sizes(n_identities, imbalance_ratio=imbalance_ratio,
                              profile="power_law", n_max=n_max, gamma=gamma)
    stroke_steps = int(round(stroke * _SUPERSAMPLE))
    visit = rng.permutation(len(candidates))

    def draw(ident, quota):
        """``quota`` jittered images of ``ident`` (samples drawn in random
        order, blank ones skipped), or ``None`` if it has too few."""
        pool = available[ident]
        out = []
        for j in rng.permutation(len(pool)):
            if task == "characters":
                design, ch = designs[pool[j]], ident
            else:
                design, ch = designs[ident], characters[pool[j]]
            img = renderer.render(
                design[0], design[1], ch,
                dx=rng.uniform(-shift, shift), dy=rng.uniform(-shift, shift),
                scale=1.0 - rng.uniform(0.0, scale),
                stroke=rng.randint(0, stroke_steps + 1),
            )
            if img is not None:
                out.append((img, ch, design[2]))
                if len(out) == quota:
                    return out
        return None

    images, target, chars, fonts, names = [], [], [], [], []
    n_visited = 0
    for label, quota in enumerate(sizes):
        drawn = None
        while drawn is None:
            if n_visited == len(visit):
                raise ValueError(
                    f"Only {label} of the n_identities={n_identities} "
                    f"identities could be rendered with their quota of samples "
                    f"(n_max={n_max}): some glyphs the fonts' character maps "
                    "list are blank or cannot be rendered. Lower n_identities "
                    "or n_max, or install more fonts."
                )
            ident = candidates[visit[n_visited]]
            n_visited += 1
            drawn = draw(ident, quota)
        names.append(ident if task == "characters" else designs[ident][2])
        for img, ch, font in drawn:
            images.append(img)
            target.append(label)
            chars.append(ch)
            fonts.append(font)
    images = np.stack(images).astype(np.float32)
    return Bunch(
        images=images,
        data=images.reshape(len(images), -1),
        target=np.asarray(target, dtype=np.int64),
        target_names=np.asarray(names, dtype=object),
        characters=np.asarray(chars, dtype=object),
        fonts=np.asarray(fonts, dtype=object),
        font_files=[(str(p), i, n) for p, i, n, _ in designs],
        DESCR=_describe(task, len(designs), len(files), n_identities, sizes,
                        image_size),
    )


def _describe(task, n_designs, n_files, n_identities, sizes, image_size):
    what = ("characters, each drawn by several type designs"
            if task == "characters" else
            "type designs, each drawing several characters")
    return (
        "Font glyphs\n-----------\n\n"
        f"{n_identities} identities ({what}); {int(sizes.sum())} "
        f"{image_size}x{image_size} grey-level images, {int(sizes[-1])} to "
        f"{int(sizes[0])} per identity; {n_designs} distinct designs from "
        f"{n_files} font files.  Rendered with FreeType (Pillow) from fonts on "
        "disk; see ``load_font_glyphs``.\n"
    )
