"""nn_scratch.data: embedded digits, IDX/CIFAR loaders (tiny written files and the real ones), splits,
standardization, batches, and the datasets/get_datasets.py fetch script."""
import doctest
import gzip
import hashlib
import importlib.util
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nn_scratch.data import (CorruptDatasetError, DatasetNotFoundError, Standardizer, batches, load_cifar10,
                             load_digits, load_fashion_mnist, load_mnist, num_batches, read_idx, split_indices,
                             train_val_test_split, write_idx)
from nn_scratch.data import cifar, digits, mnist, splits, synthetic

REPO = Path(__file__).resolve().parents[1]
DIGIT_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


@pytest.mark.parametrize("module", [digits, splits, synthetic], ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------- embedded digits

def test_digits_shapes_dtypes_and_label_counts():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == DIGIT_COUNTS
    assert X.min() == 0.0 and X.max() == 1.0


def test_digits_scale_and_images_and_fresh_copies():
    raw, y = load_digits(dtype=np.uint8, scale=False)
    X, _ = load_digits(dtype=np.float64)
    assert raw.max() == 16 and raw.dtype == np.uint8
    np.testing.assert_array_equal(X * 16, raw)             # scale divides 0..16 by 16 exactly
    imgs, _ = load_digits(return_images=True)
    assert imgs.shape == (1797, 8, 8)
    np.testing.assert_array_equal(imgs.reshape(1797, 64), load_digits()[0])
    # the first image is the classic "0": a blank left column and a filled centre ring
    assert y[0] == 0 and raw[0, 0] == 0 and raw[0, 3] == 13
    X[:] = -1                                               # callers may modify what they get
    y[:] = -1
    X2, y2 = load_digits(dtype=np.float64)
    assert X2.min() == 0 and np.bincount(y2).tolist() == DIGIT_COUNTS


def test_digits_file_is_the_original_and_works_without_shared_data(monkeypatch, tmp_path):
    path = REPO / "nn_scratch" / "data" / "digits.csv.gz"
    assert md5(path) == "9b335364a7bfd63947c7480a5bd51f2d"
    monkeypatch.setenv("NN_SCRATCH_DATA", str(tmp_path))    # no data folder anywhere: still loads
    monkeypatch.chdir(tmp_path)
    assert load_digits()[0].shape == (1797, 64)


def test_digits_bad_dtype():
    with pytest.raises(TypeError, match="dtype"):
        load_digits(dtype=np.int32, scale=True)
    with pytest.raises(TypeError, match="dtype"):
        load_digits(dtype="not a dtype")


def test_digits_ship_in_wheel_package_data():
    cfg = (REPO / "setup.cfg").read_text()
    assert "*.csv.gz" in cfg and "LICENSE*" in cfg
    lic = (REPO / "nn_scratch" / "data" / "LICENSE-digits.txt").read_text()
    assert "CC BY 4.0" in lic and "Alpaydin" in lic


# --------------------------------------------------------------------------- tiny IDX files

def write_mnist_like(folder, n=7, kind="train", seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    img_name, lab_name = mnist.FILES[kind]
    write_idx(folder / img_name, images)
    write_idx(folder / lab_name, labels)
    sums = {img_name: md5(folder / img_name), lab_name: md5(folder / lab_name)}
    return images, labels, sums


def test_idx_roundtrip_plain_and_gzip(tmp_path):
    a = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 5
    write_idx(tmp_path / "a.idx", a)
    write_idx(tmp_path / "a.idx.gz", a)
    for name in ("a.idx", "a.idx.gz"):
        b = read_idx(tmp_path / name)
        assert b.dtype == np.int32 and b.dtype.isnative
        np.testing.assert_array_equal(b, a)
    raw = (tmp_path / "a.idx").read_bytes()
    assert raw[:4] == bytes([0, 0, 0x0C, 3]) and raw[4:8] == (2).to_bytes(4, "big")  # big-endian header
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx.gz", limit=1), a[:1])
    with pytest.raises(ValueError, match="'limit' must be >= 1, got -1"):
        read_idx(tmp_path / "a.idx", limit=-1)


def test_mnist_tiny_files_load_with_all_options(tmp_path):
    images, labels, sums = write_mnist_like(tmp_path / "mnist", n=7, kind="test")
    X, y = load_mnist(tmp_path, kind="test", checksums=sums)
    assert X.shape == (7, 784) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(X, images.reshape(7, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
    X, _ = load_mnist(tmp_path, kind="test", flatten=False, dtype=np.uint8, scale=False, checksums=sums)
    np.testing.assert_array_equal(X, images)
    X, y = load_mnist(tmp_path, kind="test", limit=3, dtype=np.float64, checksums=sums)
    assert X.shape == (3, 784) and X.dtype == np.float64 and y.tolist() == labels[:3].tolist()


def test_files_directly_in_folder_and_env_var(tmp_path, monkeypatch):
    images, labels, sums = write_mnist_like(tmp_path / "flat", n=4)
    X, y = load_fashion_mnist(tmp_path / "flat", checksums=sums)       # no fashion-mnist/ subfolder
    np.testing.assert_array_equal(y, labels)
    monkeypatch.setenv("NN_SCRATCH_DATA", str(tmp_path / "flat"))
    assert load_fashion_mnist(checksums=sums)[0].shape == (4, 784)
    monkeypatch.delenv("NN_SCRATCH_DATA")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flat").rename(tmp_path / "datasets")                 # default: ./datasets
    assert load_fashion_mnist(checksums=sums)[1].tolist() == labels.tolist()


def test_missing_file_message_names_file_and_fetch_command(tmp_path):
    write_mnist_like(tmp_path / "mnist", kind="train")
    (tmp_path / "mnist" / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError, match="train-labels-idx1-ubyte.gz") as err:
        load_mnist(tmp_path)
    assert "get_datasets.py mnist" in str(err.value)
    assert isinstance(err.value, FileNotFoundError)


def test_published_checksum_mismatch_is_reported(tmp_path):
    write_mnist_like(tmp_path / "mnist", kind="train")     # right structure, but not the original bytes
    with pytest.raises(CorruptDatasetError, match="md5") as err:
        load_mnist(tmp_path)
    assert "train-images-idx3-ubyte.gz" in str(err.value) and "get_datasets.py mnist" in str(err.value)
    assert load_mnist(tmp_path, verify=False)[0].shape == (7, 784)   # verify=False skips the MD5


def test_checksum_table_can_be_monkeypatched(tmp_path, monkeypatch):
    _, labels, sums = write_mnist_like(tmp_path / "fashion-mnist", kind="train")
    monkeypatch.setitem(mnist.CHECKSUMS, "fashion-mnist", sums)
    assert load_fashion_mnist(tmp_path)[1].tolist() == labels.tolist()
    bad = dict(sums, **{"train-labels-idx1-ubyte.gz": "0" * 32})
    with pytest.raises(CorruptDatasetError, match="train-labels"):
        load_fashion_mnist(tmp_path, checksums=bad)


def _rewrite(path, data, compress=True):
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)


@pytest.mark.parametrize("damage, message", [
    ("wrong_magic", "magic number 2049, expected 2051"),
    ("truncated_body", "truncated"),
    ("truncated_gzip", "gzip stream"),
    ("too_long", "longer than its header"),
    ("short_header", "too short"),
    ("wrong_dims", r"\(28, 28\)"),
    ("count_mismatch", "labels for"),
    ("bad_label", "outside 0..9"),
])
def test_corrupt_idx_files_are_named(tmp_path, damage, message):
    images, labels, _ = write_mnist_like(tmp_path / "mnist", n=5)
    img = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    lab = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    raw = gzip.decompress(img.read_bytes())
    if damage == "wrong_magic":
        _rewrite(img, (2049).to_bytes(4, "big") + raw[4:])
    elif damage == "truncated_body":
        _rewrite(img, raw[:-100])
    elif damage == "truncated_gzip":
        img.write_bytes(img.read_bytes()[:-30])
    elif damage == "too_long":
        _rewrite(img, raw + b"\x00" * 10)
    elif damage == "short_header":
        _rewrite(img, raw[:2])
    elif damage == "wrong_dims":
        write_idx(img, np.zeros((5, 27, 28), dtype=np.uint8))
    elif damage == "count_mismatch":
        write_idx(lab, labels[:4])
    elif damage == "bad_label":
        write_idx(lab, np.full(5, 12, dtype=np.uint8))
    with pytest.raises(CorruptDatasetError, match=message) as err:
        load_mnist(tmp_path, verify=False)
    assert "mnist" in str(err.value) and "get_datasets.py" in str(err.value)


def test_loader_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="'kind'.*'train' or 'test'.*'valid'"):
        load_mnist(tmp_path, kind="valid")
    with pytest.raises(TypeError, match="'limit'"):
        load_mnist(tmp_path, limit=2.5)
    with pytest.raises(ValueError, match="'limit'"):
        load_mnist(tmp_path, limit=0)
    with pytest.raises(TypeError, match="'dtype'"):
        load_mnist(tmp_path, dtype=np.uint8, scale=True)
    with pytest.raises(TypeError, match="'data_dir'"):
        load_mnist(data_dir=3)
    with pytest.raises(TypeError, match="'checksums' must be a dict"):
        load_mnist(tmp_path, checksums=["abc"])
    with pytest.raises(ValueError, match="'kind'"):
        load_cifar10(tmp_path, kind="t10k")


# --------------------------------------------------------------------------- tiny CIFAR files

def write_cifar_like(folder, records=(3, 2, 4, 1, 2, 5), seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, n in zip(cifar.TRAIN_FILES + cifar.TEST_FILES, records):
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        pixels = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
        rec = np.concatenate([labels[:, None], pixels.reshape(n, -1)], axis=1)
        (folder / name).write_bytes(rec.tobytes())
        out[name] = (pixels, labels.astype(np.int64))
    return out


def test_cifar_tiny_files_layout_and_order(tmp_path):
    parts = write_cifar_like(tmp_path / "cifar-10-batches-bin")
    X, y = load_cifar10(tmp_path, verify=False)          # tiny files: structure checks except the count
    want = np.concatenate([parts[n][0] for n in cifar.TRAIN_FILES])
    assert X.shape == (12, 3, 32, 32) and X.dtype == np.float32
    np.testing.assert_allclose(X, want / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, np.concatenate([parts[n][1] for n in cifar.TRAIN_FILES]))
    Xt, yt = load_cifar10(tmp_path, kind="test", flatten=True, dtype=np.uint8, scale=False, verify=False)
    assert Xt.shape == (5, 3072)
    # the record is label, then the red plane, the green plane, the blue plane
    np.testing.assert_array_equal(Xt[:, :1024], parts["test_batch.bin"][0][:, 0].reshape(5, -1))
    Xl, yl = load_cifar10(tmp_path, limit=4, verify=False)  # spans data_batch_1 (3) and data_batch_2 (1)
    np.testing.assert_array_equal(yl, y[:4])
    np.testing.assert_array_equal(Xl, X[:4])


def test_cifar_verify_structure_and_checksums(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    write_cifar_like(folder)
    with pytest.raises(CorruptDatasetError, match="data_batch_1.bin.*3 records, expected 10000"):
        load_cifar10(tmp_path)                            # verify=True wants full 10 000-record batches
    with pytest.raises(CorruptDatasetError, match="test_batch.bin.*md5"):
        load_cifar10(tmp_path, kind="test", verify=True, checksums={"test_batch.bin": "0" * 32})
    p = folder / "test_batch.bin"
    p.write_bytes(p.read_bytes()[:-7])
    with pytest.raises(CorruptDatasetError, match="test_batch.bin.*whole number"):
        load_cifar10(tmp_path, kind="test", verify=False)
    p.write_bytes(bytes([11]) + bytes(3072))
    with pytest.raises(CorruptDatasetError, match="label 11"):
        load_cifar10(tmp_path, kind="test", verify=False)
    (folder / "data_batch_4.bin").unlink()
    with pytest.raises(DatasetNotFoundError, match="data_batch_4.bin.*get_datasets.py cifar10"):
        load_cifar10(tmp_path, verify=False)


def test_cifar_full_size_batch_passes_verify(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rec = np.zeros((10_000, 3073), dtype=np.uint8)
    rec[:, 0] = np.arange(10_000) % 10
    (folder / "test_batch.bin").write_bytes(rec.tobytes())
    X, y = load_cifar10(tmp_path, kind="test", checksums={"test_batch.bin": md5(folder / "test_batch.bin")})
    assert X.shape == (10_000, 3, 32, 32) and np.bincount(y).tolist() == [1000] * 10


# --------------------------------------------------------------------------- the real files

@pytest.mark.parametrize("kind, n, counts", [("train", 60_000, MNIST_TRAIN_COUNTS),
                                             ("test", 10_000, MNIST_TEST_COUNTS)])
def test_real_mnist(shared_data, kind, n, counts):
    X, y = load_mnist(shared_data / "mnist", kind=kind, flatten=False, dtype=np.uint8, scale=False)
    assert X.shape == (n, 28, 28) and y.shape == (n,)
    assert X.min() == 0 and X.max() == 255
    assert np.bincount(y, minlength=10).tolist() == counts


def test_real_fashion_mnist_and_scaling(shared_data):
    X, y = load_fashion_mnist(shared_data, kind="test")    # the parent folder: found in fashion-mnist/
    assert X.shape == (10_000, 784) and X.dtype == np.float32
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.bincount(y).tolist() == [1000] * 10
    Xl, yl = load_fashion_mnist(shared_data, kind="train", limit=500)
    assert Xl.shape == (500, 784)
    _, y_train = load_fashion_mnist(shared_data, kind="train", dtype=np.uint8, scale=False)
    assert np.bincount(y_train).tolist() == [6000] * 10
    np.testing.assert_array_equal(yl, y_train[:500])


def test_real_digits_file_matches_embedded(shared_data):
    assert md5(shared_data / "digits" / "digits.csv.gz") == md5(REPO / "nn_scratch" / "data" / "digits.csv.gz")


# --------------------------------------------------------------------------- splits

def test_split_is_disjoint_complete_and_seeded():
    y = np.repeat(np.arange(3), [50, 30, 20])
    tr, va, te = split_indices(y, val=0.2, test=0.1, seed=0)
    assert len(va) == 20 and len(te) == 10 and len(tr) == 70
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, va, te])), np.arange(100))
    # stratified: each class keeps its proportion in every part (50/30/20 -> 10/6/4 in val)
    assert np.bincount(y[va]).tolist() == [10, 6, 4]
    assert np.bincount(y[te]).tolist() == [5, 3, 2]
    again = split_indices(y, val=0.2, test=0.1, seed=0)
    other = split_indices(y, val=0.2, test=0.1, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))
    assert not np.array_equal(va, other[1])


def test_train_val_test_split_keeps_rows_together_and_regression_targets():
    X = np.arange(200, dtype=np.float64).reshape(100, 2)
    y = X[:, 0] * 0.5                                          # float target: plain random split
    s = train_val_test_split(X, y, val=0.15, test=0.25, seed=3)
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (60, 15, 25)
    for Xp, yp in ((s.X_train, s.y_train), (s.X_val, s.y_val), (s.X_test, s.y_test)):
        np.testing.assert_array_equal(Xp[:, 0] * 0.5, yp)
    X_tr, y_tr, X_va, y_va, X_te, y_te = s                   # unpacks as six arrays
    assert X_te is s.X_test


@settings(max_examples=25, deadline=None)
@given(counts=st.lists(st.integers(1, 40), min_size=1, max_size=6),
       val=st.floats(0.0, 0.4), test=st.floats(0.0, 0.4), seed=st.integers(0, 2**16))
def test_split_property_stratified_proportions(counts, val, test, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    N = len(y)
    if round(val * N) + round(test * N) >= N:
        with pytest.raises(ValueError):
            split_indices(y, val=val, test=test, seed=seed)
        return
    tr, va, te = split_indices(y, val=val, test=test, seed=seed)
    np.testing.assert_array_equal(np.sort(np.concatenate([tr, va, te])), np.arange(N))
    assert len(te) == round(test * N)
    assert len(va) == round(val * N)
    # each class's share in the test part is within one sample of its exact quota
    quota = test * np.asarray(counts)
    assert np.all(np.abs(np.bincount(y[te], minlength=len(counts)) - quota) < 1 + 1e-9)


def test_split_argument_errors():
    y = np.zeros(10, dtype=int)
    with pytest.raises(ValueError, match="'val' \\+ 'test' must be < 1"):
        split_indices(y, val=0.5, test=0.5)
    with pytest.raises(ValueError, match="'test' must be in"):
        split_indices(y, test=-0.1)
    with pytest.raises(TypeError, match="'val'"):
        split_indices(y, val="0.1")
    with pytest.raises(ValueError, match="'y' must have 10 samples"):
        train_val_test_split(np.zeros((10, 2)), np.zeros(9))
    with pytest.raises(TypeError, match="'seed'"):
        split_indices(y, seed=1.5)


# --------------------------------------------------------------------------- standardizer

def test_standardizer_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    X_train = rng.normal(5.0, 2.0, size=(200, 3)).astype(np.float32)
    X_train[:, 2] = 7.0                                        # a constant feature
    X_test = rng.normal(-3.0, 10.0, size=(50, 3)).astype(np.float32)
    st_ = Standardizer().fit(X_train)
    Z = st_.transform(X_train)
    assert Z.dtype == np.float32
    np.testing.assert_allclose(Z[:, :2].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(Z[:, :2].std(0), 1, atol=1e-5)
    np.testing.assert_array_equal(Z[:, 2], 0)                  # zero variance: centered, not divided by 0
    Zt = st_.transform(X_test)
    X64 = X_train.astype(np.float64)
    expected = (X_test - X64.mean(0)) / np.r_[X64[:, :2].std(0), 1]
    np.testing.assert_allclose(Zt, expected, rtol=1e-5, atol=1e-5)
    assert abs(Zt[:, 0].mean()) > 1                            # test statistics were not used
    np.testing.assert_allclose(st_.inverse_transform(Zt), X_test, rtol=1e-5, atol=1e-4)
    st2 = Standardizer().load_state_dict(st_.state_dict())
    np.testing.assert_array_equal(st2.transform(X_test), Zt)


def test_standardizer_images_ints_and_errors():
    X, _ = load_digits(return_images=True, dtype=np.uint8, scale=False)
    st_ = Standardizer(dtype=np.float64).fit(X[:1000])
    Z = st_.transform(X[1000:])
    assert Z.shape == (797, 8, 8) and Z.dtype == np.float64 and np.all(np.isfinite(Z))
    with pytest.raises(RuntimeError, match="fit"):
        Standardizer().transform(X)
    with pytest.raises(ValueError, match=r"feature shape \(8, 8\).*\(64,\)"):
        st_.transform(X.reshape(-1, 64))


# --------------------------------------------------------------------------- batches

@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 25), seed=st.integers(0, 1000), drop_last=st.booleans())
def test_batches_cover_each_sample_once(n, batch_size, seed, drop_last):
    X = np.arange(n * 2).reshape(n, 2)
    y = np.arange(n)
    rng = np.random.default_rng(seed)
    out = list(batches(X, y, batch_size=batch_size, rng=rng, drop_last=drop_last))
    assert len(out) == num_batches(n, batch_size, drop_last)
    seen = np.concatenate([yb for _, yb in out]) if out else np.array([], dtype=int)
    for xb, yb in out:
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)        # rows stay with their targets
        assert len(yb) == batch_size or (not drop_last and yb is out[-1][1])
    assert len(np.unique(seen)) == len(seen)                    # without replacement
    if drop_last:
        assert len(seen) == n - n % batch_size
    else:
        np.testing.assert_array_equal(np.sort(seen), y)         # every sample exactly once


def test_batches_order_seeded_and_fresh_per_epoch():
    y = np.arange(20)
    first = np.concatenate([b for _, b in batches(y, y, 6, rng=0)])
    assert np.array_equal(first, np.concatenate([b for _, b in batches(y, y, 6, rng=0)]))
    rng = np.random.default_rng(0)
    e1 = np.concatenate([b for _, b in batches(y, y, 6, rng=rng)])
    e2 = np.concatenate([b for _, b in batches(y, y, 6, rng=rng)])
    assert not np.array_equal(e1, e2) and not np.array_equal(e1, y)
    plain = [b.tolist() for _, b in batches(y, y, 8, shuffle=False)]
    assert plain == [list(range(8)), list(range(8, 16)), list(range(16, 20))]
    xs = [xb.shape for xb, yb in batches(np.zeros((5, 3)), None, 2, rng=0)]
    assert xs == [(2, 3), (2, 3), (1, 3)]


def test_batches_check_arguments_at_call_time():
    with pytest.raises(ValueError, match="'batch_size' must be >= 1"):
        batches(np.zeros(4), np.zeros(4), 0)
    with pytest.raises(TypeError, match="'batch_size'"):
        batches(np.zeros(4), np.zeros(4), 2.0)
    with pytest.raises(ValueError, match="'y' must have 4 samples"):
        batches(np.zeros(4), np.zeros(3), 2)
    with pytest.raises(TypeError, match="'rng'"):
        batches(np.zeros(4), np.zeros(4), 2, rng="seed")


# --------------------------------------------------------------------------- datasets/get_datasets.py

@pytest.fixture
def getter():
    spec = importlib.util.spec_from_file_location("get_datasets", REPO / "datasets" / "get_datasets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fetch_script_checksums_agree_with_package(getter):
    for name in ("mnist", "fashion-mnist"):
        assert getter.DATASETS[name]["files"] == mnist.CHECKSUMS[name]
    assert getter.DATASETS["cifar10"]["files"]["cifar-10-binary.tar.gz"] == cifar.ARCHIVE_MD5


def _local_table(tmp_path, getter):
    """A fake 'mnist' entry whose mirrors are file:// folders: the first lacks the files, the second has them."""
    good = tmp_path / "mirror_good"
    _, labels, sums = write_mnist_like(good, n=3, kind="test")
    (tmp_path / "mirror_empty").mkdir()
    table = {"mnist": dict(getter.DATASETS["mnist"], files=sums,
                           mirrors=[(tmp_path / "mirror_empty").as_uri() + "/", good.as_uri() + "/"])}
    return table, labels, sums


def test_fetch_downloads_verifies_then_skips(tmp_path, getter):
    table, labels, sums = _local_table(tmp_path, getter)
    dest = tmp_path / "data"
    logs = []
    getter.fetch("mnist", dest, progress=False, table=table, log=logs.append)
    assert {p.name for p in (dest / "mnist").iterdir()} == set(sums)          # no .part files left
    X, y = load_mnist(dest, kind="test", checksums=sums)                     # the package reads them
    assert y.tolist() == labels.tolist()
    calls = []

    def no_network(url, timeout=None):
        calls.append(url)
        raise AssertionError("should not download")

    getter.fetch("mnist", dest, progress=False, opener=no_network, table=table, log=logs.append)
    assert calls == [] and sum("present, checksum ok" in line for line in logs) == 2


def test_fetch_replaces_corrupt_file_and_rejects_bad_mirror(tmp_path, getter):
    table, labels, sums = _local_table(tmp_path, getter)
    dest = tmp_path / "data"
    (dest / "mnist").mkdir(parents=True)
    bad = dest / "mnist" / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(b"garbage")
    getter.fetch("mnist", dest, progress=False, table=table, log=lambda s: None)
    assert md5(bad) == sums[bad.name]
    # every mirror serves wrong bytes: error names the file, nothing is written
    wrong = {"mnist": dict(table["mnist"], files={"t10k-images-idx3-ubyte.gz": "0" * 32})}
    dest2 = tmp_path / "data2"
    with pytest.raises(RuntimeError, match="t10k-images-idx3-ubyte.gz.*md5"):
        getter.fetch("mnist", dest2, progress=False, table=wrong, log=lambda s: None)
    assert list((dest2 / "mnist").iterdir()) == []


def test_fetch_cifar_archive_is_extracted(tmp_path, getter):
    src = tmp_path / "src"
    write_cifar_like(src / "cifar-10-batches-bin")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with tarfile.open(mirror / "cifar-10-binary.tar.gz", "w:gz") as tar:
        tar.add(src / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    table = {"cifar10": dict(getter.DATASETS["cifar10"], mirrors=[mirror.as_uri() + "/"],
                             files={"cifar-10-binary.tar.gz": md5(mirror / "cifar-10-binary.tar.gz")})}
    dest = tmp_path / "data"
    getter.fetch("cifar10", dest, progress=False, table=table, log=lambda s: None)
    X, y = load_cifar10(dest, kind="test", verify=False)
    assert X.shape == (5, 3, 32, 32)
    assert (dest / "cifar-10-batches-bin" / "cifar-10-binary.tar.gz").is_file()   # kept beside the batches
    (dest / "cifar-10-batches-bin" / "test_batch.bin").unlink()                   # lost a batch: re-extract
    logs = []
    getter.fetch("cifar10", dest, progress=False, opener=None, table=table, log=logs.append)
    assert any("present" in s for s in logs) and any("extracting" in s for s in logs)
    assert load_cifar10(dest, kind="test", verify=False)[0].shape == (5, 3, 32, 32)


def test_fetch_script_command_line_errors(tmp_path, getter, capsys):
    with pytest.raises(SystemExit) as exit_:
        getter.main(["imagenet", "--dest", str(tmp_path)])
    assert exit_.value.code == 2 and "invalid choice" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown dataset"):
        getter.fetch("imagenet", tmp_path)


def test_fetch_script_main_exit_codes(tmp_path, getter, monkeypatch, capsys):
    table, labels, sums = _local_table(tmp_path, getter)
    monkeypatch.setitem(getter.DATASETS, "mnist", table["mnist"])
    assert getter.main(["mnist", "--dest", str(tmp_path / "d"), "--no-progress"]) == 0
    assert load_mnist(tmp_path / "d", kind="test", checksums=sums)[1].tolist() == labels.tolist()
    monkeypatch.setitem(getter.DATASETS, "mnist", dict(table["mnist"], mirrors=[(tmp_path / "none").as_uri() + "/"]))
    assert getter.main(["mnist", "--dest", str(tmp_path / "e"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: could not get") and "Traceback" not in err
