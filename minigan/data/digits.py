"""A built-in digits data set: 28x28 grey images of the digits 0-9, rendered locally, no download.

Each image is a digit from one of the fonts that ship with matplotlib (DejaVu Sans, Serif and
Mono, STIX, Computer Modern), redrawn as a pen stroke along the glyph's centre line and
prepared the way MNIST was: white ink on black, the digit scaled so that its longer side fits a
20x20 box, then shifted so that its centre of mass sits at pixel (row 14, column 14). Random
variation per image makes the set look handwritten rather than typeset:

    rotation, slant (shear), width/height ratio   one affine map
    stroke width                                  the pen's radius, 0.8-1.8 pixels
    wobble                                        a smooth random displacement field
    position                                      a small jitter of the centre of mass
    the digit 1                                   often a bare stroke, as most people write it

How it is fast. Each glyph is rasterised once at 96x96, thinned to a one-pixel skeleton
(Zhang-Suen) and blurred by a Gaussian of std s into a field f that is about
exp(-r^2 / 2 s^2) at distance r from the centre line. An image is f sampled bilinearly at the
784 points that the inverse affine map sends its pixel centres p to; the distance to the centre
line is read back from f and a soft edge turns it into ink:

    r(p)   = scale * s * sqrt(-2 log f(L^-1 (p - t)))        distance in output pixels
    ink(p) = clip(0.5 + (radius - r(p)) / RAMP, 0, 1)

All images of a chunk are rendered together by a handful of array operations, twice: the
second time shifted so that the centre of mass lands on (14, 14).

    images, labels = load_digits(n=10000, seed=0)   # (n, 1, 28, 28) float32 in [-1, 1]; (n,) int64

Arrays are host NumPy arrays (``B.asarray`` moves them to the active backend). Nothing is
written to disk; the prepared glyphs stay in memory for the next call.
"""
from __future__ import annotations

import functools
import os

from minigan import arguments
from minigan import backend as B

np = B.np                 # host-side NumPy: data preparation runs on the host

IMAGE_SIZE = 28           # output images are IMAGE_SIZE x IMAGE_SIZE
BOX = 20.0                # the digit's longer side fits a BOX x BOX box, as in MNIST
CENTRE = 14.0             # centre of mass (row and column) of every image, as in MNIST
MASTER_SIZE = 96          # glyphs are prepared once on a MASTER_SIZE x MASTER_SIZE grid
MASTER_GLYPH = 64.0       # ... with their longer side this many master pixels long
MASTER_BLUR = 3.0         # std s (master pixels) of the blur that turns a skeleton into a field
RAMP = 1.3                # width (output pixels) of the soft edge of a stroke
BARE_ONE = 0.4            # probability that a 1 is drawn as a bare stroke rather than a font's 1
ITALIC_SLANT = 0.2        # the slant of italic fonts (about 11 degrees), taken off the random one
CHUNK = 1000              # images rendered together: bounds memory, fixes the random streams

# Fonts shipped in matplotlib's data directory (mpl-data/fonts/ttf); missing files are skipped.
FONT_FILES = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Oblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Italic.ttf",
    "STIXGeneral.ttf", "STIXGeneralItalic.ttf",
    "cmss10.ttf", "cmr10.ttf", "cmtt10.ttf",
)


# ---------------------------------------------------------------------------------------------
# Glyphs: prepared once per font and digit.

def _rasterise(path, size: int, glyph_size: float):
    """Fill a matplotlib glyph path: (size, size) bool image, longer side glyph_size pixels.

    The glyph is centred, y points down. Holes follow the even-odd rule: each closed polygon of
    the outline toggles the pixels inside it.
    """
    from matplotlib.path import Path

    polygons = [poly for poly in path.to_polygons(closed_only=True) if len(poly) >= 3]
    lo = np.min([poly.min(axis=0) for poly in polygons], axis=0)
    hi = np.max([poly.max(axis=0) for poly in polygons], axis=0)
    scale = glyph_size / (hi - lo).max()
    centre = (lo + hi) / 2
    ys, xs = np.mgrid[0:size, 0:size]
    pixel_centres = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float64)
    inside = np.zeros(size * size, dtype=bool)
    for poly in polygons:
        image_xy = np.stack([(poly[:, 0] - centre[0]) * scale + size / 2,
                             (centre[1] - poly[:, 1]) * scale + size / 2], axis=1)
        inside ^= Path(image_xy).contains_points(pixel_centres)
    return inside.reshape(size, size)


_CLOCKWISE_FROM_NORTH = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


def _thin(images):
    """Zhang-Suen thinning of a stack of binary images (G, H, W) -> one-pixel-wide skeletons.

    Repeatedly peel boundary pixels whose removal keeps the shape connected (one 0->1 transition
    around them) and that are not line ends (2..6 neighbours), alternating the two sub-steps
    that peel south-east and north-west boundaries.
    """
    images = images.copy()
    height, width = images.shape[1:]
    while True:
        changed = False
        for step in (0, 1):
            padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
            # the 8 neighbours P2..P9, clockwise from north
            p2, p3, p4, p5, p6, p7, p8, p9 = (
                padded[:, 1 + dy:1 + dy + height, 1 + dx:1 + dx + width]
                for dy, dx in _CLOCKWISE_FROM_NORTH)
            ring = (p2, p3, p4, p5, p6, p7, p8, p9, p2)
            count = sum(p.astype(np.uint8) for p in ring[:8])
            transitions = sum((~a & b).astype(np.uint8) for a, b in zip(ring[:8], ring[1:]))
            if step == 0:
                keep_corner = ~(p2 & p4 & p6) & ~(p4 & p6 & p8)
            else:
                keep_corner = ~(p2 & p4 & p8) & ~(p2 & p6 & p8)
            remove = images & (count >= 2) & (count <= 6) & (transitions == 1) & keep_corner
            if remove.any():
                images &= ~remove
                changed = True
        if not changed:
            return images


def _blur(images, sigma: float):
    """Gaussian blur of a stack (G, H, W), separable, zero beyond the border.

    Scaled so that a one-pixel-wide straight line peaks at 1 (its profile across is then
    exp(-d^2 / 2 sigma^2) at distance d). Written as shifted adds, without BLAS: the images are
    small and many.
    """
    radius = int(3 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)                         # peak tap = 1
    taps /= taps.sum()
    height, width = images.shape[1:]
    padded = np.pad(images.astype(np.float64), ((0, 0), (radius, radius), (radius, radius)))
    rows = sum(t * padded[:, :, k:k + width] for k, t in enumerate(taps))           # along x
    both = sum(t * rows[:, k:k + height, :] for k, t in enumerate(taps))            # along y
    return both / taps[radius]


def _bare_stroke(size: int, length: float):
    """(size, size) bool image of a vertical line of the given length, centred."""
    image = np.zeros((size, size), dtype=bool)
    top = int(round(size / 2 - length / 2))
    image[top:top + int(length), size // 2] = True
    return image


@functools.lru_cache(maxsize=1)
def _glyph_bank():
    """Every prepared glyph: the 10 digits of each font, then the bare stroke (a 1).

    Returns (fields (G, S, S) float32 with values ~ exp(-r^2 / 2 s^2) near a skeleton,
    points (G, V, 2) float32 skeleton pixel coordinates (x, y), padded by repeating the last,
    font_slant (fonts,) the slant each font already has: ITALIC_SLANT for italics, else 0).
    Glyph font * 10 + digit is that font's digit; glyph G - 1 is the bare stroke.
    """
    import matplotlib
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    font_dir = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
    font_paths = [os.path.join(font_dir, f) for f in FONT_FILES
                  if os.path.exists(os.path.join(font_dir, f))]
    if not font_paths:
        raise RuntimeError(f"minigan digits: none of the fonts {FONT_FILES} is in {font_dir}; "
                           f"reinstall matplotlib")
    shapes = []
    for font_path in font_paths:
        prop = FontProperties(fname=font_path)
        for digit in range(10):
            path = TextPath((0, 0), str(digit), size=100, prop=prop)
            shapes.append(_rasterise(path, MASTER_SIZE, MASTER_GLYPH))
    skeletons = np.concatenate([_thin(np.stack(shapes)),
                                _bare_stroke(MASTER_SIZE, MASTER_GLYPH)[None]])
    fields = _blur(skeletons, MASTER_BLUR)                                 # (G, S, S)
    points = [np.argwhere(s)[:, ::-1] for s in skeletons]                 # (V, 2) as (x, y)
    longest = max(len(p) for p in points)
    points = [np.concatenate([p, np.repeat(p[-1:], longest - len(p), axis=0)]) for p in points]
    font_slant = np.array([ITALIC_SLANT if ("Italic" in p or "Oblique" in p) else 0.0
                           for p in font_paths])
    return fields.astype(np.float32), np.stack(points).astype(np.float32), font_slant


# ---------------------------------------------------------------------------------------------
# Rendering: a chunk of images at once.

def _bilinear(fields, glyph, x, y):
    """Sample fields[glyph[i]] at the points (x[i], y[i]), bilinearly; beyond the border, the
    border value.  fields: (G, S, S) float32; glyph: (n,) int; x, y: (n, P) float32 master
    pixels -> (n, P) float32."""
    size = fields.shape[-1]
    x = np.clip(x, 0.0, size - 1.001)
    y = np.clip(y, 0.0, size - 1.001)
    x0 = np.floor(x)
    y0 = np.floor(y)
    fx = x - x0                                  # float32: an integer x0 would promote to float64
    fy = y - y0
    flat = fields.reshape(-1)
    index = (glyph[:, None] * size + y0.astype(np.intp)) * size + x0.astype(np.intp)   # (n, P)
    f00, f01 = flat.take(index), flat.take(index + 1)
    f10, f11 = flat.take(index + size), flat.take(index + size + 1)
    top = f00 + (f01 - f00) * fx
    bottom = f10 + (f11 - f10) * fx
    return top + (bottom - top) * fy


def _render(fields, glyph, inverse, offset, x, y, radius, master_to_output):
    """Stroke images (n, P) in [0, 1]: ink where the centre line is within radius.

    inverse: (n, 2, 2) = L^-1; offset: (n, 2) = t; x, y: (n, P) output points;
    radius: (n,) pen radius in output pixels; master_to_output: (n,) output px per master px.
    """
    dx = x - offset[:, 0:1]
    dy = y - offset[:, 1:2]
    master_x = inverse[:, 0, 0:1] * dx + inverse[:, 0, 1:2] * dy          # L^-1 (p - t)
    master_y = inverse[:, 1, 0:1] * dx + inverse[:, 1, 1:2] * dy
    field = _bilinear(fields, glyph, master_x, master_y)
    np.clip(field, 1e-12, 1.0, out=field)
    # distance to the centre line in output pixels, from field = exp(-r^2 / 2 s^2)
    distance = np.sqrt(-2.0 * np.log(field)) * (MASTER_BLUR * master_to_output[:, None])
    ink = (radius[:, None] - distance) * (1.0 / RAMP) + 0.5
    return np.clip(ink, 0.0, 1.0, out=ink)


def _centre_of_mass(images):
    """(n, 28*28) images -> (n, 2) centre of mass as (x, y) = (column, row)."""
    grid = np.arange(IMAGE_SIZE, dtype=np.float32)
    img = images.reshape(-1, IMAGE_SIZE, IMAGE_SIZE)
    mass = img.sum(axis=(1, 2)) + 1e-6
    x = (img.sum(axis=1) * grid).sum(axis=1) / mass
    y = (img.sum(axis=2) * grid).sum(axis=1) / mass
    return np.stack([x, y], axis=1)


def _smooth_displacements(rng, amplitude, controls: int = 4):
    """(2, n, 28*28) smooth random displacements (dx, dy), amplitude (n,) output pixels.

    A controls x controls grid of N(0, 1) vectors (clipped to +-2) per image, interpolated
    bilinearly to 28x28.
    """
    n = len(amplitude)
    coarse = np.clip(rng.standard_normal((2, n, controls, controls)), -2, 2).astype(np.float32)
    position = np.linspace(0, controls - 1, IMAGE_SIZE, dtype=np.float32)
    lower = np.minimum(position.astype(np.int64), controls - 2)
    frac = position - lower                                               # (28,)
    rows = coarse[:, :, lower, :] * (1 - frac[:, None]) + coarse[:, :, lower + 1, :] * frac[:, None]
    fine = rows[:, :, :, lower] * (1 - frac) + rows[:, :, :, lower + 1] * frac   # (2, n, 28, 28)
    return fine.reshape(2, n, -1) * amplitude[:, None].astype(np.float32)


def _render_chunk(rng, labels):
    """One image per label: (n, 28*28) float32 in [0, 1]."""
    fields, points, font_slant = _glyph_bank()
    n = len(labels)
    font = rng.integers(0, len(font_slant), size=n)
    glyph = font * 10 + labels
    bare = (labels == 1) & (rng.random(n) < BARE_ONE)
    glyph[bare] = len(fields) - 1

    # The affine map L = scale * rotation * slant * stretch, from master to output pixels.
    angle = np.clip(rng.normal(0.0, 0.12, n), -0.3, 0.3)                    # radians
    slant = np.clip(rng.normal(0.1, 0.18, n), -0.3, 0.45) - font_slant[font]  # x -= slant * y
    stretch = np.exp(np.clip(rng.normal(0.05, 0.12, n), -0.25, 0.3))       # width factor
    cos, sin = np.cos(angle), np.sin(angle)
    linear = np.empty((n, 2, 2))                                            # rotation @ shear
    linear[:, 0, 0] = cos * stretch
    linear[:, 0, 1] = -cos * slant - sin
    linear[:, 1, 0] = sin * stretch
    linear[:, 1, 1] = -sin * slant + cos
    radius = rng.uniform(0.8, 1.8, n)                                       # output pixels

    # Scale so the inked digit's longer side, soft edges included, is BOX pixels: the skeleton's
    # is BOX - 2 radius - RAMP (the wobble then adds a little either way).
    px, py = points[glyph, :, 0], points[glyph, :, 1]                       # (n, V)
    lo, hi = [], []
    for row in (0, 1):
        warped = linear[:, row, 0:1] * px + linear[:, row, 1:2] * py
        lo.append(warped.min(axis=1))
        hi.append(warped.max(axis=1))
    lo, hi = np.stack(lo, axis=1), np.stack(hi, axis=1)                     # (n, 2)
    scale = (BOX - 2 * radius - RAMP) / (hi - lo).max(axis=1)               # output / master px
    linear *= scale[:, None, None]
    offset = CENTRE - scale[:, None] * (lo + hi) / 2                        # box centred
    inverse = np.linalg.inv(linear).astype(np.float32)

    ys, xs = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].reshape(2, 1, -1).astype(np.float32)
    wobble_x, wobble_y = _smooth_displacements(rng, rng.uniform(0.0, 1.3, n))
    x, y = xs + wobble_x, ys + wobble_y                                     # (n, 784) each

    radius = radius.astype(np.float32)
    scale = scale.astype(np.float32)
    first = _render(fields, glyph, inverse, offset.astype(np.float32), x, y, radius, scale)
    offset += CENTRE - _centre_of_mass(first) + rng.normal(0.0, 0.3, (n, 2))
    return _render(fields, glyph, inverse, offset.astype(np.float32), x, y, radius, scale)


def load_digits(n: int = 10000, seed: int = 0, scale: str | None = "tanh"):
    """Render n digit images with uniformly random labels, deterministically for a seed.

    Returns (images, labels): images (n, 1, 28, 28) float32 -- in [-1, 1] for scale="tanh"
    (background -1, ink +1), in [0, 1] for "sigmoid" or None (background 0, ink 1) -- and
    labels (n,) int64 in 0..9. Host NumPy arrays; ``B.asarray(images)`` puts them on the active
    backend. The same (n, seed) always gives the same arrays.
    """
    if scale not in ("tanh", "sigmoid", None):
        raise ValueError(f"load_digits: scale must be 'tanh', 'sigmoid' or None, got {scale!r}")
    n = arguments.integer(n, "n", "load_digits", minimum=0)
    seed = arguments.integer(seed, "seed", "load_digits", minimum=0)
    labels = np.empty(n, dtype=np.int64)
    images = np.empty((n, IMAGE_SIZE * IMAGE_SIZE), dtype=np.float32)
    for start in range(0, n, CHUNK):
        chunk_rng = np.random.default_rng([seed, start // CHUNK])          # one stream per chunk
        stop = min(start + CHUNK, n)
        labels[start:stop] = chunk_rng.integers(0, 10, size=stop - start)
        images[start:stop] = _render_chunk(chunk_rng, labels[start:stop])
    images = images.reshape(n, 1, IMAGE_SIZE, IMAGE_SIZE)
    if scale == "tanh":
        images = images * 2 - 1
    return images, labels
