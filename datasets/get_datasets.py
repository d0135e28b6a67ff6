#!/usr/bin/env python3
"""Download the original MNIST, Fashion-MNIST and CIFAR-10 (binary) files, checking their MD5s.

    python datasets/get_datasets.py mnist fashion-mnist cifar10 [--dest DIR]

Files go to DIR/mnist/, DIR/fashion-mnist/ and DIR/cifar-10-batches-bin/ (the archive
cifar-10-binary.tar.gz is kept in that folder, next to the batch files extracted from it).
DIR defaults to $NN_SCRATCH_DATA, else the folder of this script (``datasets/``), which is where
``nn_scratch.data`` looks when run from the repository root. A file already present with the right
checksum is skipped; each download goes to a ``.part`` file that replaces the target only once its
checksum is right, so an interrupted run leaves no half file behind. Mirrors are tried in order.
Needs only the standard library (tqdm, if installed, draws a progress bar).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

try:
    from tqdm import tqdm
except ImportError:  # the script must run without the package's dependencies
    tqdm = None

DATASETS = {
    "mnist": {
        "subfolder": "mnist",
        "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                    "http://yann.lecun.com/exdb/mnist/"],
        "files": {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    },
    "fashion-mnist": {
        "subfolder": "fashion-mnist",
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/"],
        "files": {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    },
    "cifar10": {
        "subfolder": "cifar-10-batches-bin",   # the archive is kept beside the batches it holds
        "mirrors": ["https://www.cs.toronto.edu/~kriz/"],
        "files": {"cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"},
        "extract": True,                       # its members are cifar-10-batches-bin/...: unpack into dest
        "extracted": ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                      "data_batch_5.bin", "test_batch.bin"],
    },
}
CHUNK = 1 << 16


class ChecksumError(Exception):
    """A downloaded file's MD5 is not the published one."""


def md5_of(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(url, target, md5, progress=True, opener=urllib.request.urlopen, timeout=60):
    """Stream ``url`` into ``target`` (via ``target.part``), hashing on the way; keep it only if MD5 matches."""
    target = Path(target)
    part = target.with_name(target.name + ".part")
    h = hashlib.md5()
    try:
        with opener(url, timeout=timeout) as response, open(part, "wb") as out:
            total = response.headers.get("Content-Length") if getattr(response, "headers", None) else None
            bar = (tqdm(total=int(total) if total else None, unit="B", unit_scale=True, desc=target.name,
                        leave=False) if progress and tqdm is not None else None)
            try:
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    h.update(block)
                    if bar is not None:
                        bar.update(len(block))
            finally:
                if bar is not None:
                    bar.close()
        if h.hexdigest() != md5:
            raise ChecksumError(f"{url}: md5 {h.hexdigest()}, expected {md5}")
        os.replace(part, target)
    finally:
        if part.exists():
            part.unlink()
    return target


def fetch_file(name, md5, mirrors, folder, progress=True, opener=urllib.request.urlopen, log=print):
    """Make ``folder/name`` the verified original: skip it if already right, else try each mirror in turn.

    Returns ``"present"`` or ``"downloaded"``; raises RuntimeError listing every failed attempt.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if target.is_file():
        if md5_of(target) == md5:
            log(f"  {target}: present, checksum ok")
            return "present"
        log(f"  {target}: checksum wrong, downloading again")
    errors = []
    for mirror in mirrors:
        url = mirror + name
        try:
            log(f"  {target}: downloading {url}")
            download(url, target, md5, progress=progress, opener=opener)
            return "downloaded"
        except (urllib.error.URLError, OSError, ChecksumError, ValueError) as err:
            errors.append(f"{url}: {err}")
    raise RuntimeError(f"could not get {name}; tried:\n    " + "\n    ".join(errors))


def _extract(archive, dest):
    with tarfile.open(archive, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 / 3.12: refuse paths leaving dest
            tar.extractall(dest, filter="data")
        else:
            root = Path(dest).resolve()
            for member in tar.getmembers():
                if not (root / member.name).resolve().is_relative_to(root):
                    raise RuntimeError(f"{archive}: unsafe path {member.name!r} in archive")
            tar.extractall(dest)


def fetch(dataset, dest, progress=True, opener=urllib.request.urlopen, table=DATASETS, log=print):
    """Fetch every file of ``dataset`` into ``dest`` (extracting archives); returns the data folder."""
    if dataset not in table:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {', '.join(table)}")
    spec = table[dataset]
    folder = Path(dest) / spec["subfolder"]
    log(f"{dataset} -> {folder}")
    for name, md5 in spec["files"].items():
        status = fetch_file(name, md5, spec["mirrors"], folder, progress=progress, opener=opener, log=log)
        if spec.get("extract"):
            if status == "downloaded" or not all((folder / f).is_file() for f in spec["extracted"]):
                log(f"  extracting {name} -> {folder}")
                _extract(folder / name, Path(dest))
            missing = [f for f in spec["extracted"] if not (folder / f).is_file()]
            if missing:
                raise RuntimeError(f"{name} did not contain {', '.join(missing)}")
    return folder


def default_dest():
    return Path(os.environ.get("NN_SCRATCH_DATA") or Path(__file__).resolve().parent)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Download MNIST, Fashion-MNIST and CIFAR-10 (binary) with checksums.")
    parser.add_argument("datasets", nargs="+", choices=sorted(DATASETS), metavar="DATASET",
                        help=f"one or more of: {', '.join(DATASETS)}")
    parser.add_argument("--dest", type=Path, default=None,
                        help="data folder (default: $NN_SCRATCH_DATA, else this script's folder)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    dest = args.dest if args.dest is not None else default_dest()
    try:
        for name in dict.fromkeys(args.datasets):
            fetch(name, dest, progress=not args.no_progress)
    except (RuntimeError, OSError, tarfile.TarError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"done; point nn_scratch at it with data_dir={str(dest)!r} or NN_SCRATCH_DATA={dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
