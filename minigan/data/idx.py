"""MNIST and Fashion-MNIST from their original IDX files, downloaded once and checked.

The IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/) is a 4-byte magic number, one
big-endian uint32 per dimension, then the data, row-major:

    magic = 0x00 0x00 <type> <ndim>       type 0x08 = unsigned byte, ...
    0x00000803   images: (count, rows, cols) unsigned bytes, 0 = background, 255 = ink
    0x00000801   labels: (count,) unsigned bytes, 0..9

The files are published gzip-compressed; ``read_idx`` reads either form.

    images, labels = load_mnist("mnist", "train")     # (60000, 1, 28, 28) float32 in [-1, 1]
    images, labels = load_mnist("fashion", "test", data_dir="path/with/the/files")

On first use the four files of a data set are downloaded into ``~/.cache/minigan/<kind>``
(``$XDG_CACHE_HOME/minigan/<kind>`` if that is set) and their published MD5 checksums verified.
A download is written to a temporary file in the same directory and renamed only once its
checksum is right, so an interrupted download leaves no partial file behind.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.request
import zlib

from minigan import backend as B

np = B.np                 # host-side NumPy: files are read on the host

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801

# element type code (third magic byte) -> big-endian dtype
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

FILES = {   # split -> (images file, labels file); the same names for both data sets
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

MIRRORS = {
    "mnist": ("https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/"),
    "fashion": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/"
                "data/fashion/"),
}

MD5 = {     # published checksums of the gzip files
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


class IDXFormatError(ValueError):
    """An IDX file is malformed: wrong magic number, truncated, or sizes that disagree."""


class ChecksumError(ValueError):
    """A file's MD5 checksum differs from the published one."""


class DownloadError(OSError):
    """A data file could not be downloaded (no network, or every mirror failed)."""


# ---------------------------------------------------------------------------------------------
# Reading IDX files.

def _read_bytes(path) -> bytes:
    """The file's content, gunzipped if it is gzip-compressed (recognised by its first bytes)."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:
        raise IDXFormatError(f"{path}: the gzip stream is truncated or corrupted ({e}); delete "
                             f"the file and download it again") from None


def read_idx(path, expected_magic: int | None = None):
    """Parse an IDX file (raw or gzip) into a host numpy array of its shape and element type.

    ``expected_magic`` (e.g. IMAGES_MAGIC) makes any other magic number an error. Raises
    IDXFormatError naming the file for a wrong magic number, a truncated file, or a data size
    that does not match the header.
    """
    data = _read_bytes(path)
    if len(data) < 4:
        raise IDXFormatError(f"{path}: only {len(data)} bytes, too short for an IDX header; "
                             f"the file is truncated -- delete it and download it again")
    magic = int.from_bytes(data[:4], "big")
    zeros, type_code, ndim = data[:2], data[2], data[3]
    if expected_magic is not None and magic != expected_magic:
        raise IDXFormatError(f"{path}: wrong magic number 0x{magic:08X}, expected "
                             f"0x{expected_magic:08X} ({_describe_magic(expected_magic)}); "
                             f"is this the right file?")
    if zeros != b"\x00\x00" or type_code not in IDX_TYPES or ndim == 0:
        raise IDXFormatError(f"{path}: magic number 0x{magic:08X} is not an IDX header "
                             f"(expected 0x0000TTDD: type TT in "
                             f"{[hex(t) for t in IDX_TYPES]}, DD dimensions)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXFormatError(f"{path}: truncated inside the header ({len(data)} bytes, the "
                             f"header of a {ndim}-d IDX file has {header}); delete the file "
                             f"and download it again")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(IDX_TYPES[type_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    have = len(data) - header
    if have < expected:
        raise IDXFormatError(f"{path}: truncated: the header promises {shape} x "
                             f"{dtype.itemsize} byte(s) = {expected} bytes of data but the file "
                             f"holds {have}; delete it and download it again")
    if have > expected:
        raise IDXFormatError(f"{path}: header/size mismatch: the header promises {shape} = "
                             f"{expected} bytes of data but the file holds {have}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def _describe_magic(magic: int) -> str:
    return {IMAGES_MAGIC: "IDX images, unsigned bytes, 3 dimensions",
            LABELS_MAGIC: "IDX labels, unsigned bytes, 1 dimension"}.get(magic, "IDX")


def write_idx(path, array) -> None:
    """Write a host numpy array as an IDX file (gzip-compressed if path ends in .gz)."""
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("=").str: k for k, v in IDX_TYPES.items()}
    key = array.dtype.newbyteorder("=").str
    if key not in codes or array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"write_idx: cannot store a {array.ndim}-d {array.dtype} array in IDX")
    header = bytes([0, 0, codes[key], array.ndim])
    header += b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    content = header + array.astype(np.dtype(IDX_TYPES[codes[key]])).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(content)


# ---------------------------------------------------------------------------------------------
# Finding, downloading and checking the files.

def default_data_dir(kind: str) -> str:
    """Where downloads go: $XDG_CACHE_HOME/minigan/<kind>, else ~/.cache/minigan/<kind>."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "minigan", kind)


def md5sum(path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_url(url: str, out, timeout: float = 60.0) -> None:
    """Copy the content at url into the open binary file ``out``."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        while True:
            block = response.read(1 << 20)
            if not block:
                break
            out.write(block)


def _download(kind: str, name: str, directory: str) -> str:
    """Download file ``name`` of data set ``kind`` into directory, checksum verified.

    The bytes go to a temporary file in ``directory``; it replaces ``directory/name`` only after
    its MD5 matches, and is deleted on any failure. Returns the final path.
    """
    os.makedirs(directory, exist_ok=True)
    final = os.path.join(directory, name)
    failures = []
    for mirror in MIRRORS[kind]:
        url = mirror + name
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                _fetch_url(url, out)
                out.flush()
                os.fsync(out.fileno())
            actual = md5sum(tmp)
            if actual != MD5[kind][name]:
                raise ChecksumError(f"{url}: the download has MD5 {actual}, the published "
                                    f"checksum is {MD5[kind][name]}; the bad download was "
                                    f"deleted. Try again, or download the file by hand into "
                                    f"{directory}")
            os.replace(tmp, final)
            return final
        except OSError as e:       # urllib.error.URLError, timeouts, refused connections ...
            failures.append(f"{url}: {e}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    raise DownloadError(f"could not download {name} ({'; '.join(failures)}). Download it by "
                        f"hand from {MIRRORS[kind][0]}{name} into {directory}, or pass "
                        f"data_dir= pointing at a folder that has it")


def _locate(kind: str, name: str, directory: str, download: bool) -> str:
    """Path of file ``name`` (or its uncompressed twin) in directory, downloading if allowed."""
    for candidate in (name, name[:-len(".gz")]):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            return path
    if not download:
        raise FileNotFoundError(f"{name} is not in {directory}. Download it from "
                                f"{MIRRORS[kind][0]}{name} into {directory}, or call "
                                f"load_mnist(..., download=True)")
    return _download(kind, name, directory)


def _verify(kind: str, path: str) -> None:
    """Check a gzip file with a published name against its MD5 (uncompressed files cannot be)."""
    name = os.path.basename(path)
    expected = MD5[kind].get(name)
    if expected is None:
        return
    actual = md5sum(path)
    if actual != expected:
        raise ChecksumError(f"{path}: MD5 {actual} differs from the published {expected} of "
                            f"{kind} {name}. The file is damaged or a different version: delete "
                            f"it to download it again, or pass verify=False to use it as it is")


def load_mnist(kind: str = "mnist", split: str = "train", data_dir=None, download: bool = True,
               scale: str | None = "tanh", verify: bool = True):
    """MNIST (kind="mnist") or Fashion-MNIST (kind="fashion"), split "train" or "test".

    Returns (images, labels): images (N, 1, 28, 28) -- float32 in [-1, 1] for scale="tanh",
    in [0, 1] for "sigmoid", the raw uint8 pixels 0..255 for None -- and labels (N,) int64;
    N = 60000 (train) or 10000 (test). Host numpy arrays; ``B.asarray`` moves them to the
    active backend.

    Files are looked for in ``data_dir`` (default: ``default_data_dir(kind)``) under their
    published names, gzip (``t10k-images-idx3-ubyte.gz``) or uncompressed
    (``t10k-images-idx3-ubyte``); missing ones are downloaded there if ``download``. Gzip files
    are checked against the published MD5 unless ``verify=False``.
    """
    if kind not in MD5:
        raise ValueError(f"load_mnist: kind must be one of {sorted(MD5)}, got {kind!r}")
    if split not in FILES:
        raise ValueError(f"load_mnist: split must be 'train' or 'test', got {split!r}")
    if scale not in ("tanh", "sigmoid", None):
        raise ValueError(f"load_mnist: scale must be 'tanh', 'sigmoid' or None, got {scale!r}")
    directory = os.fspath(data_dir) if data_dir is not None else default_data_dir(kind)
    arrays = []
    for name, magic in zip(FILES[split], (IMAGES_MAGIC, LABELS_MAGIC)):
        path = _locate(kind, name, directory, download)
        if verify:
            _verify(kind, path)
        arrays.append((path, read_idx(path, expected_magic=magic)))
    (images_path, images), (labels_path, labels) = arrays
    if len(images) != len(labels):
        raise IDXFormatError(f"{images_path} holds {len(images)} images but {labels_path} "
                             f"holds {len(labels)} labels; one of them is from another split "
                             f"or damaged")
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise IDXFormatError(f"{images_path} holds images of shape {images.shape[1:]}, not "
                             f"28x28: not {kind} {split} images (load other IDX files with "
                             f"read_idx)")
    if labels.ndim != 1:
        raise IDXFormatError(f"{labels_path} holds labels of shape {labels.shape}, not a list "
                             f"of labels (N,)")
    if labels.size and (int(labels.max()) > 9 or int(labels.min()) < 0):
        raise IDXFormatError(f"{labels_path} holds labels from {int(labels.min())} to "
                             f"{int(labels.max())}; {kind} labels are 0..9")
    images = images[:, None, :, :]                                # (N, 1, rows, cols)
    if scale == "tanh":
        images = images.astype(np.float32) / np.float32(127.5) - np.float32(1)
    elif scale == "sigmoid":
        images = images.astype(np.float32) / np.float32(255)
    return images, labels.astype(np.int64)
