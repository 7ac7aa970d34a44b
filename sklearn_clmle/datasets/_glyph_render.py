"""Reading and drawing font files for ``load_font_glyphs``: the faces of
each file with their character maps (fontTools), one glyph rendered to a
small square (Pillow/FreeType), and the faces that draw distinct designs."""

import contextlib
import logging
import os
from pathlib import Path

import numpy as np

_FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")

# Supersampling of the rendering: glyphs are drawn at this multiple of the
# output size, jittered there, and box-filtered down (sub-pixel shifts,
# half-pixel strokes, anti-aliased edges).
_SUPERSAMPLE = 4

# Glyphs rendered to tell designs apart (spacing variants such as IPAGothic /
# IPAPGothic draw identical outlines and count as one design): the first
# _N_PROBES of these that a face draws, then characters spread over the list.
_N_PROBES = 6
_PROBE_CHARS = "永書語識機様愛國RgQa3&"
# Faces whose probe renderings differ by less than this mean absolute grey
# level are one design (forks and spacing variants that kept the outlines
# differ by 0 to 0.006 after hinting; distinct designs by 0.03 or more).
_SAME_DESIGN_TOL = 0.01


@contextlib.contextmanager
def _needs(package, pip_name, purpose):
    """An ``ImportError`` inside says that ``load_font_glyphs`` needs
    ``package`` for ``purpose`` and how to install it."""
    try:
        yield
    except ImportError as exc:
        raise ImportError(
            f"load_font_glyphs {purpose} with {package}, which is not "
            f"installed; install it with `pip install {pip_name}` (it comes "
            "with matplotlib, the 'benchmark' extra)."
        ) from exc


def _import_pillow():
    with _needs("Pillow (FreeType)", "pillow", "renders glyphs"):
        from PIL import Image, ImageDraw, ImageFont
    return Image, ImageDraw, ImageFont


def _import_fonttools():
    with _needs("fontTools", "fonttools", "reads the fonts' character maps"):
        from fontTools.ttLib import TTCollection, TTFont
    return TTCollection, TTFont


def _font_files(font_paths):
    """Sorted font files under ``font_paths`` (files or directories, searched
    recursively); missing paths are skipped."""
    files = set()
    for entry in font_paths:
        path = Path(entry)
        if path.is_file():
            files.add(path)
        elif path.is_dir():
            for root, _, names in os.walk(path, followlinks=True):
                for name in names:
                    if name.lower().endswith(_FONT_SUFFIXES):
                        files.add(Path(root) / name)
    return sorted(files)


@contextlib.contextmanager
def _quiet_fonttools():
    """fontTools logs warnings about harmless quirks of some fonts' tables."""
    logger = logging.getLogger("fontTools")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _faces(path, TTCollection, TTFont):
    """``(index, name, code points)`` of each face in a font file; files
    fontTools cannot read are skipped (a corrupt or non-font file)."""
    try:
        if path.suffix.lower() in (".ttc", ".otc"):
            fonts = list(TTCollection(str(path), lazy=True).fonts)
        else:
            fonts = [TTFont(str(path), lazy=True)]
    except Exception:  # noqa: BLE001 - any parse failure: not a usable font
        return []
    out = []
    for index, font in enumerate(fonts):
        try:
            cmap = font.getBestCmap() or {}
            names = font["name"]
            family = names.getBestFamilyName() or path.stem
            style = names.getBestSubFamilyName() or ""
        except Exception:  # noqa: BLE001 - a face with a broken table
            continue
        name = f"{family} {style}".strip() if style.lower() != "regular" else family
        out.append((index, name, frozenset(cmap)))
    return out


class _Renderer:
    """Draws one character of one face to an ``image_size`` square."""

    def __init__(self, image_size, padding):
        self.Image, self.ImageDraw, self.ImageFont = _import_pillow()
        self.size = image_size
        self.big = image_size * _SUPERSAMPLE
        self.box = (image_size - 2 * padding) * _SUPERSAMPLE
        self._fonts = {}

    def font(self, path, index):
        key = (path, index)
        if key not in self._fonts:
            self._fonts[key] = self.ImageFont.truetype(str(path), self.box, index=index)
        return self._fonts[key]

    def render(self, path, index, char, *, scale=1.0, dx=0.0, dy=0.0, stroke=0):
        """Float32 image in [0, 1] (ink = 1), or ``None`` for a blank glyph
        or one FreeType cannot render.

        The glyph's ink is cropped, scaled (aspect kept) to fit ``scale``
        times the padded box, centred, shifted by ``(dx, dy)`` output pixels.
        """
        font = self.font(path, index)
        canvas = self.Image.new("L", (3 * self.big, 3 * self.big), 0)
        draw = self.ImageDraw.Draw(canvas)
        c = 1.5 * self.big
        try:
            draw.text((c, c), char, fill=255, font=font, anchor="mm",
                      stroke_width=int(stroke), stroke_fill=255)
        except OSError:  # FreeType refused the glyph (a broken hinting program)
            return None
        bbox = canvas.getbbox()
        if bbox is None:
            return None
        glyph = canvas.crop(bbox)
        w, h = glyph.size
        fit = scale * self.box / max(w, h)
        w2, h2 = max(1, round(w * fit)), max(1, round(h * fit))
        glyph = glyph.resize((w2, h2), self.Image.LANCZOS)
        out = self.Image.new("L", (self.big, self.big), 0)
        x = round((self.big - w2) / 2 + dx * _SUPERSAMPLE)
        y = round((self.big - h2) / 2 + dy * _SUPERSAMPLE)
        out.paste(glyph, (x, y))
        out = out.resize((self.size, self.size), self.Image.BOX)
        return np.asarray(out, dtype=np.float32) / 255.0


def _faces_covering(files, characters, task):
    """``(path, index, name, covered code points)`` of every face in
    ``files`` that draws any of ``characters`` (``"characters"``) or all of
    them (``"fonts"``)."""
    TTCollection, TTFont = _import_fonttools()
    wanted = {ord(c) for c in characters}
    faces = []
    with _quiet_fonttools():
        found = [(path, face) for path in files
                 for face in _faces(path, TTCollection, TTFont)]
    for path, (index, name, cmap) in found:
        covered = wanted & cmap
        if covered and (task == "characters" or len(covered) == len(wanted)):
            faces.append((path, index, name, covered))
    return faces


def _distinct_designs(faces, renderer, characters):
    """The faces of ``faces`` that draw a design of their own: the first, in
    order, of each group whose probe renderings differ by less than
    ``_SAME_DESIGN_TOL``; faces that render none of the probes are left out."""
    order = [ord(c) for c in characters]
    size = renderer.size
    designs, kept = [], {}  # kept: probe characters -> their renderings
    for path, index, name, covered in faces:
        spread = order[:: max(1, len(order) // (4 * _N_PROBES))]
        probes = [chr(c) for c in [ord(p) for p in _PROBE_CHARS] + spread
                  if c in covered][:_N_PROBES]
        shots = [renderer.render(path, index, ch) for ch in probes]
        if all(img is None for img in shots):
            continue  # draws nothing FreeType can render
        shots = np.stack([np.zeros((size, size), np.float32)
                          if img is None else img for img in shots])
        key = "".join(probes)
        if not any(np.abs(shots - other).mean() < _SAME_DESIGN_TOL
                   for other in kept.get(key, ())):
            kept.setdefault(key, []).append(shots)
            designs.append((path, index, name, covered))
    return designs
