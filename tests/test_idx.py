"""IDX reading and the MNIST / Fashion-MNIST loader, on tiny files made here; the downloader is
replaced by a fake (no network). One test reads the real MNIST test set if it is present."""
import gzip
import hashlib
import os
import struct
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from minigan.data import idx
from minigan.data.idx import ChecksumError, DownloadError, IDXFormatError, load_mnist, read_idx

REAL_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def idx_bytes(array, type_code=0x08, big_endian_dtype=">u1"):
    """An IDX file's content, built by hand: magic, big-endian dims, big-endian data."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.asarray(array).astype(big_endian_dtype).tobytes()


def tiny_set(n=5, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels


def write_split(directory, split="test", n=5, gz=True, seed=0):
    """Write tiny image/label files under the published names; return arrays and contents."""
    images, labels = tiny_set(n, seed)
    image_name, label_name = idx.FILES[split]
    contents = {}
    for name, array in ((image_name, images), (label_name, labels)):
        content = idx_bytes(array)
        if gz:
            content = gzip.compress(content)
        else:
            name = name[:-len(".gz")]
        (Path(directory) / name).write_bytes(content)
        contents[name] = content
    return images, labels, contents


def md5(content: bytes) -> str:
    return hashlib.md5(content).hexdigest()


# ---------------------------------------------------------------------------------------------
# read_idx

@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_raw_and_gzip(tmp_path, gz):
    images, labels = tiny_set()
    for name, array in (("img", images), ("lab", labels)):
        content = idx_bytes(array)
        path = tmp_path / name
        path.write_bytes(gzip.compress(content) if gz else content)
        out = read_idx(path)
        assert out.dtype == np.uint8 and out.shape == array.shape
        np.testing.assert_array_equal(out, array)
    assert read_idx(tmp_path / "img", expected_magic=idx.IMAGES_MAGIC).shape == (5, 28, 28)


def test_read_idx_other_element_types_are_big_endian(tmp_path):
    values = np.array([[1.5, -2.25], [3.0, 1e6]], dtype=np.float32)
    (tmp_path / "f").write_bytes(idx_bytes(values, 0x0D, ">f4"))
    out = read_idx(tmp_path / "f")
    assert out.dtype == np.float32 and out.dtype.isnative
    np.testing.assert_array_equal(out, values)
    shorts = np.array([-300, 2, 30000], dtype=np.int16)
    (tmp_path / "s").write_bytes(idx_bytes(shorts, 0x0B, ">i2"))
    np.testing.assert_array_equal(read_idx(tmp_path / "s"), shorts)


def test_write_idx_matches_the_format(tmp_path):
    images, _ = tiny_set()
    idx.write_idx(tmp_path / "a", images)
    assert (tmp_path / "a").read_bytes() == idx_bytes(images)
    idx.write_idx(tmp_path / "a.gz", images)
    assert gzip.decompress((tmp_path / "a.gz").read_bytes()) == idx_bytes(images)


def test_wrong_magic_number_names_the_file(tmp_path):
    _, labels = tiny_set()
    path = tmp_path / "labels-as-images"
    path.write_bytes(idx_bytes(labels))
    with pytest.raises(IDXFormatError, match=r"labels-as-images.*wrong magic number "
                                             r"0x00000801, expected 0x00000803"):
        read_idx(path, expected_magic=idx.IMAGES_MAGIC)
    path.write_bytes(b"GIF89a" + bytes(100))
    with pytest.raises(IDXFormatError, match="not an IDX header"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_file(tmp_path, gz):
    images, _ = tiny_set()
    content = idx_bytes(images)
    path = tmp_path / "cut"
    if gz:
        path.write_bytes(gzip.compress(content)[:200])      # the gzip stream stops early
        expected = "gzip stream is truncated"
    else:
        path.write_bytes(content[:-10])
        expected = r"truncated: the header promises \(5, 28, 28\)"
    with pytest.raises(IDXFormatError, match=expected) as info:
        read_idx(path)
    assert str(path) in str(info.value) and "download it again" in str(info.value)
    path.write_bytes(content[:10])                         # inside the header
    with pytest.raises(IDXFormatError, match="truncated inside the header"):
        read_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(IDXFormatError, match="too short"):
        read_idx(path)


def test_header_size_mismatch(tmp_path):
    images, _ = tiny_set()
    path = tmp_path / "long"
    path.write_bytes(idx_bytes(images) + b"\x00" * 7)
    with pytest.raises(IDXFormatError, match="header/size mismatch"):
        read_idx(path)


def test_format_errors_are_value_errors():
    assert issubclass(IDXFormatError, ValueError) and issubclass(ChecksumError, ValueError)
    assert issubclass(DownloadError, OSError)


# ---------------------------------------------------------------------------------------------
# load_mnist from a local directory

@pytest.mark.parametrize("gz", [False, True])
def test_load_local_files_and_scales(tmp_path, gz):
    images, labels, _ = write_split(tmp_path, "test", gz=gz)
    x, y = load_mnist("mnist", "test", data_dir=tmp_path, download=False, verify=False)
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, labels)
    np.testing.assert_allclose(x[:, 0], images / 127.5 - 1, atol=1e-6)
    assert x[0, 0, 0, 0] == -1.0 and x[0, 0, 0, 1] == 1.0
    x, _ = load_mnist("mnist", "test", data_dir=tmp_path, download=False, verify=False,
                      scale="sigmoid")
    assert x[0, 0, 0, 0] == 0.0 and x[0, 0, 0, 1] == 1.0
    raw, _ = load_mnist("mnist", "test", data_dir=tmp_path, download=False, verify=False,
                        scale=None)
    assert raw.dtype == np.uint8
    np.testing.assert_array_equal(raw[:, 0], images)


def test_local_gzip_files_are_checksummed(tmp_path, monkeypatch):
    _, _, contents = write_split(tmp_path, "test")
    published = {name: md5(c) for name, c in contents.items()}
    monkeypatch.setitem(idx.MD5, "mnist", published)
    load_mnist("mnist", "test", data_dir=tmp_path, download=False)          # verifies, passes
    image_file = tmp_path / idx.FILES["test"][0]
    image_file.write_bytes(gzip.compress(idx_bytes(tiny_set(seed=1)[0])))  # another version
    with pytest.raises(ChecksumError, match="t10k-images-idx3-ubyte.gz.*verify=False"):
        load_mnist("mnist", "test", data_dir=tmp_path, download=False)
    assert image_file.exists()                            # the user's own file is never deleted
    load_mnist("mnist", "test", data_dir=tmp_path, download=False, verify=False)


def test_images_and_labels_must_agree(tmp_path):
    write_split(tmp_path, "train", n=5)
    labels = np.zeros(4, dtype=np.uint8)
    (tmp_path / idx.FILES["train"][1]).write_bytes(gzip.compress(idx_bytes(labels)))
    with pytest.raises(IDXFormatError, match="5 images but .* 4 labels"):
        load_mnist("fashion", "train", data_dir=tmp_path, download=False, verify=False)


def test_missing_files_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"not in {tmp_path}"):
        load_mnist("mnist", "test", data_dir=tmp_path, download=False)


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        load_mnist("cifar", data_dir=tmp_path)
    with pytest.raises(ValueError, match="split"):
        load_mnist("mnist", "validation", data_dir=tmp_path)
    with pytest.raises(ValueError, match="scale"):
        load_mnist("mnist", "test", data_dir=tmp_path, scale="unit")


# ---------------------------------------------------------------------------------------------
# Downloading (the network is a fake)

class FakeServer:
    """Stands in for idx._fetch_url: serves the given contents by file name, counts requests."""

    def __init__(self, contents, fail_after=None, error=None):
        self.contents, self.fail_after, self.error, self.requests = contents, fail_after, error, []

    def __call__(self, url, out, timeout=60.0):
        self.requests.append(url)
        if self.error is not None:
            raise self.error
        content = self.contents[url.rsplit("/", 1)[1]]
        if self.fail_after is not None:
            out.write(content[:self.fail_after])
            raise ConnectionResetError("connection reset by peer")
        out.write(content)


def served_split(tmp_path, kind="fashion", split="train"):
    """Tiny files for a split, their checksums installed as the published ones."""
    source = tmp_path / "source"
    source.mkdir()
    images, labels, contents = write_split(source, split)
    return images, labels, contents, {name: md5(c) for name, c in contents.items()}


def test_download_on_first_use_then_cached(tmp_path, monkeypatch):
    images, labels, contents, published = served_split(tmp_path)
    monkeypatch.setitem(idx.MD5, "fashion", published)
    server = FakeServer(contents)
    monkeypatch.setattr(idx, "_fetch_url", server)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    x, y = load_mnist("fashion", "train", scale=None)
    cache = tmp_path / "cache" / "minigan" / "fashion"
    assert sorted(os.listdir(cache)) == sorted(contents)  # no temporary files left
    assert server.requests == [idx.MIRRORS["fashion"][0] + n for n in idx.FILES["train"]]
    np.testing.assert_array_equal(x[:, 0], images)
    np.testing.assert_array_equal(y, labels)
    load_mnist("fashion", "train")
    assert len(server.requests) == 2                      # second call: read from the cache


def test_default_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert idx.default_data_dir("mnist") == str(tmp_path / ".cache" / "minigan" / "mnist")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert idx.default_data_dir("fashion") == str(tmp_path / "xdg" / "minigan" / "fashion")


def test_bad_download_is_deleted(tmp_path, monkeypatch):
    _, _, contents, published = served_split(tmp_path)
    published[idx.FILES["train"][0]] = "0" * 32
    monkeypatch.setitem(idx.MD5, "fashion", published)
    monkeypatch.setattr(idx, "_fetch_url", FakeServer(contents))
    target = tmp_path / "data"
    with pytest.raises(ChecksumError, match="bad download was deleted") as info:
        load_mnist("fashion", "train", data_dir=target)
    assert str(target) in str(info.value)
    assert os.listdir(target) == []


def test_interrupted_download_leaves_no_partial_file(tmp_path, monkeypatch):
    _, _, contents, published = served_split(tmp_path, "mnist", "test")
    monkeypatch.setitem(idx.MD5, "mnist", published)
    server = FakeServer(contents, fail_after=100)
    monkeypatch.setattr(idx, "_fetch_url", server)
    target = tmp_path / "data"
    with pytest.raises(DownloadError, match="connection reset"):
        load_mnist("mnist", "test", data_dir=target)
    assert os.listdir(target) == []
    assert len(server.requests) == len(idx.MIRRORS["mnist"])    # every mirror was tried


def test_no_network_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(idx, "_fetch_url",
                        FakeServer({}, error=urllib.error.URLError("Name or service not known")))
    target = tmp_path / "offline"
    with pytest.raises(DownloadError) as info:
        load_mnist("mnist", "train", data_dir=target)
    message = str(info.value)
    assert "Name or service not known" in message
    assert f"by hand from {idx.MIRRORS['mnist'][0]}train-images-idx3-ubyte.gz" in message
    assert f"into {target}" in message and "data_dir=" in message
    assert os.listdir(target) == []


# ---------------------------------------------------------------------------------------------
# The real MNIST test set, where this checkout has it

@pytest.mark.skipif(not REAL_MNIST.is_dir(),
                    reason=f"the real MNIST test set is not at {REAL_MNIST} (optional data)")
def test_real_mnist_test_set():
    x, y = load_mnist("mnist", "test", data_dir=REAL_MNIST, download=False)   # checksums verified
    assert x.shape == (10000, 1, 28, 28) and x.dtype == np.float32
    assert x.min() == -1.0 and x.max() == 1.0
    np.testing.assert_array_equal(np.bincount(y, minlength=10),
                                  [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
