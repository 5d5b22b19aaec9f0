"""Declared data files (``Resource``), verified downloads and integrity checks.

A :class:`Resource` is class data: a file name, the published URLs, and whatever the publishers
give to pin it (size, SHA-256 and/or MD5). The helpers here

* stream a file's hashes in 1 MiB chunks (:func:`hash_file`) with a progress bar;
* verify a file against its resource and record the result in a small marker file
  ``<file>.verified.json`` (size, mtime, SHA-256, MD5 and the pinned checksums it was checked
  against), so later loads check the size only and take the content hash from the marker
  (:func:`verify_file`, :func:`ensure_file`). A marker recorded under other pins (a new release of
  this project pinned another checksum) or under none (a marker without pins) is not
  trusted: the file is hashed again;
* download atomically (:func:`download_file`): the bytes go to a temporary file in the destination
  folder, are hashed while they arrive, checked, and only then renamed into place. A failure never
  leaves a half-written file under the final name.

The base URL can be overridden, for mirrors and for tests against a local HTTP server, with the
``base_url`` argument or the ``BENCHMARK_DATA_BASE_URL`` environment variable: the file is then
fetched from ``<base_url>/<filename>``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from datasets._errors import DatasetDownloadError, DatasetIntegrityError, DatasetNotFoundError

__all__ = [
    "Resource",
    "default_root",
    "resolve_root",
    "hash_file",
    "verify_file",
    "ensure_file",
    "download_file",
    "read_marker",
    "update_marker",
    "BASE_URL_ENV",
    "DATA_ENV",
]

DATA_ENV = "BENCHMARK_DATA"  # data root; default ~/.cache/benchmark/data
BASE_URL_ENV = "BENCHMARK_DATA_BASE_URL"  # overrides the published URLs: <base>/<filename>
CHUNK = 1 << 20  # 1 MiB: hashing and download block size
MARKER_SUFFIX = ".verified.json"
MARKER_VERSION = 1


@dataclass(frozen=True)
class Resource:
    """One published data file.

    Parameters
    ----------
    filename : str
        Name of the file as distributed (it is stored under this name).
    urls : tuple of str
        Published download URLs, tried in order. Empty when the file is distributed on request only.
    size_bytes : int or None
        Exact size in bytes, checked on every load; None where no reliable figure is published.
    sha256, md5 : str or None
        Pinned checksums (lower-case hex). At least one should be given; where only MD5 is
        published (dSprites, MPI3D) the MD5 is checked and the SHA-256 is computed and recorded.
    manual : str
        Extra manual steps for the error messages (e.g. where to request the data).
    """

    filename: str
    urls: tuple[str, ...] = ()
    size_bytes: int | None = None
    sha256: str | None = None
    md5: str | None = None
    manual: str = ""

    def pinned(self) -> str:
        """Human-readable description of what pins this file."""
        parts = []
        if self.size_bytes is not None:
            parts.append(f"{self.size_bytes:,} bytes")
        if self.sha256:
            parts.append(f"sha256 {self.sha256[:12]}...")
        if self.md5:
            parts.append(f"md5 {self.md5[:12]}...")
        return ", ".join(parts) or "no published checksum"


def default_root() -> Path:
    """``$BENCHMARK_DATA`` if set, else ``~/.cache/benchmark/data``."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else Path("~/.cache/benchmark/data").expanduser()


def resolve_root(root: str | os.PathLike | None) -> Path:
    """The data root: ``root`` if given, else :func:`default_root`."""
    return default_root() if root is None else Path(root).expanduser()


def hash_file(path: str | os.PathLike, algorithms: tuple[str, ...] = ("sha256", "md5"), *,
              progress: bool = True, desc: str | None = None) -> dict[str, str]:
    """Hex digests of a file, streamed in 1 MiB chunks (one pass for all algorithms).

    ``usedforsecurity=False`` keeps MD5 available on FIPS-mode systems: it is an integrity check here.
    """
    path = Path(path)
    hashers = {a: hashlib.new(a, usedforsecurity=False) for a in algorithms}
    total = path.stat().st_size
    with open(path, "rb") as fh, tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                                      desc=desc or f"hashing {path.name}", disable=not progress,
                                      leave=False) as bar:
        while True:
            block = fh.read(CHUNK)
            if not block:
                break
            for h in hashers.values():
                h.update(block)
            bar.update(len(block))
    return {a: h.hexdigest() for a, h in hashers.items()}


def _marker_path(path: Path) -> Path:
    return path.with_name(path.name + MARKER_SUFFIX)


def _pins(resource: Resource) -> dict[str, str | None]:
    """The checksums ``resource`` pins, as recorded in a marker (``None`` where nothing is pinned)."""
    return {"sha256": resource.sha256 and resource.sha256.lower(), "md5": resource.md5 and resource.md5.lower()}


def read_marker(path: str | os.PathLike, resource: Resource | None = None) -> dict | None:
    """The verification marker of ``path`` if it is present and still matches the file's size and mtime.

    With ``resource``, the marker must also record that the file was verified against the checksums
    ``resource`` pins now (key ``pinned``): a marker written under an earlier pin, or by an earlier
    version that recorded none, gives None, so the caller verifies the file again.
    """
    path = Path(path)
    marker = _marker_path(path)
    try:
        data = json.loads(marker.read_text())
        st = path.stat()
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):  # a damaged marker only costs a re-verification
        return None
    if (data.get("version") != MARKER_VERSION or data.get("size") != st.st_size
            or data.get("mtime_ns") != st.st_mtime_ns or not data.get("sha256")):
        return None
    if resource is not None and data.get("pinned") != _pins(resource):
        return None
    return data


def _write_marker(path: Path, digests: dict[str, str], extra: dict | None = None, *,
                  resource: Resource | None = None) -> dict:
    st = path.stat()
    data = {"version": MARKER_VERSION, "filename": path.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            **digests, **(extra or {})}
    if resource is not None:  # what the digests were checked against (a later pin change forces a re-hash)
        data["pinned"] = _pins(resource)
    tmp = _marker_path(path).with_suffix(".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, _marker_path(path))
    except OSError:  # read-only data folder: verification still holds for this process
        pass
    return data


def update_marker(path: str | os.PathLike, extra: dict) -> dict | None:
    """Add keys to the verification marker of ``path`` (e.g. that a format check passed)."""
    path = Path(path)
    data = read_marker(path)
    if data is None:
        return None
    digests = {k: data[k] for k in ("sha256", "md5") if k in data}
    keep = {k: v for k, v in data.items() if k not in ("version", "filename", "size", "mtime_ns", "sha256", "md5")}
    return _write_marker(path, digests, {**keep, **extra})


def _fix(dataset: str, root: Path | None) -> str:
    root_arg = f" --root {root}" if root is not None else ""
    return f"python -m benchmark data download {dataset}{root_arg}"


def _manual_steps(resource: Resource, path: Path, dataset: str) -> str:
    get = f"download {resource.urls[0]} by hand" if resource.urls else "obtain the file"
    steps = (f"{get}, save it as {path}, then run "
             f"`python -m benchmark data verify {dataset} --root {path.parent.parent}`")
    return f"{resource.manual} {steps}" if resource.manual else steps


def check_size(resource: Resource, path: Path, dataset: str) -> int:
    """Existence and (where pinned) exact size; the cheap check done on every load."""
    if not path.is_file():
        fix = (f"run `{_fix(dataset, path.parent.parent)}` or pass download=True" if resource.urls
               else _manual_steps(resource, path, dataset))
        raise DatasetNotFoundError(f"{dataset}: data file {path} not found (expected {resource.pinned()}). Fix: {fix}.")
    size = path.stat().st_size
    if resource.size_bytes is not None and size != resource.size_bytes:
        raise DatasetIntegrityError(
            f"{dataset}: data file {path} has {size:,} bytes, expected {resource.size_bytes:,} "
            f"({'truncated' if size < resource.size_bytes else 'too large'}). Fix: delete it and run "
            f"`{_fix(dataset, path.parent.parent)}`."
        )
    return size


def _digest_mismatch(resource: Resource, digests: dict[str, str]) -> str | None:
    """'expected <algo> X, got Y' for the first pinned checksum that ``digests`` do not match, else None."""
    for algo in ("sha256", "md5"):
        expected = getattr(resource, algo)
        if expected and digests.get(algo) != expected.lower():
            return f"expected {algo} {expected}, got {digests.get(algo)}"
    return None


def _compare(resource: Resource, digests: dict[str, str], where: str, dataset: str, fix: str) -> None:
    mismatch = _digest_mismatch(resource, digests)
    if mismatch:
        raise DatasetIntegrityError(
            f"{dataset}: checksum mismatch for {where}: {mismatch}. "
            f"The file is corrupted or is a different release. Fix: {fix}"
        )


def verify_file(resource: Resource, path: str | os.PathLike, *, dataset: str, progress: bool = True,
                extra: dict | None = None) -> dict:
    """Full check of ``path`` against ``resource`` (size, then streamed SHA-256 and MD5).

    On success the marker file ``<path>.verified.json`` is (re)written and its content returned
    (keys ``sha256``, ``md5``, ``size``, ``pinned`` (the resource's checksums) ...). Raises
    :class:`DatasetNotFoundError` or :class:`DatasetIntegrityError` with the fix.
    """
    path = Path(path)
    check_size(resource, path, dataset)
    digests = hash_file(path, progress=progress, desc=f"verifying {dataset}")
    _compare(resource, digests, str(path), dataset,
             f"delete it and run `{_fix(dataset, path.parent.parent)}`.")
    return _write_marker(path, digests, extra, resource=resource)


def ensure_file(resource: Resource, folder: str | os.PathLike, *, dataset: str, download: bool = False,
                verify: bool = False, base_url: str | None = None, progress: bool = True) -> tuple[Path, dict]:
    """Make sure ``folder/resource.filename`` is present and intact; returns (path, marker).

    Downloads it first if it is missing and ``download`` is true. The size is checked on every call;
    the full checksum after a download, when ``verify`` is true, and whenever no up-to-date marker
    records an earlier verification against the checksums pinned now (so the content hash is always
    that of the file actually read, and a changed pin is never satisfied by an old verification).
    """
    folder = Path(folder)
    path = folder / resource.filename
    if not path.exists() and download:
        return path, download_file(resource, folder, dataset=dataset, base_url=base_url, progress=progress)
    check_size(resource, path, dataset)
    marker = None if verify else read_marker(path, resource)
    if marker is None:
        marker = verify_file(resource, path, dataset=dataset, progress=progress)
    return path, marker


def publish(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Rename the finished temporary file ``tmp`` to ``path`` atomically, with the mode a new file gets.

    ``tempfile.mkstemp`` creates files readable by their owner only (0600) and ``os.replace`` keeps that
    mode, so a shared data folder would hold files that other users cannot read.
    """
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    os.replace(tmp, path)


def _candidate_urls(resource: Resource, base_url: str | None) -> list[str]:
    base = base_url or os.environ.get(BASE_URL_ENV)
    if base:
        return [base.rstrip("/") + "/" + resource.filename]
    return list(resource.urls)


def download_file(resource: Resource, folder: str | os.PathLike, *, dataset: str, base_url: str | None = None,
                  timeout: float = 60.0, progress: bool = True) -> dict:
    """Download ``resource`` into ``folder`` atomically; returns the verification marker.

    Skips the download when the file is already there and verifies. Otherwise each URL is tried
    in turn: the bytes are written to a temporary file in ``folder`` while being hashed, the size
    and checksums are compared, and the file is renamed into place only if they match (a mirror
    serving a broken copy does not stop the next one from being tried).

    Raises
    ------
    DatasetDownloadError
        No URL could be fetched (offline, HTTP error); names every URL tried and the manual steps.
    DatasetIntegrityError
        No URL gave bytes matching the pinned size and checksums (every temporary file is removed);
        names what each URL gave.
    """
    folder = Path(folder)
    path = folder / resource.filename
    if path.exists():
        try:
            return verify_file(resource, path, dataset=dataset, progress=progress)
        except DatasetIntegrityError:
            pass  # a corrupted leftover: download again and replace it atomically
    urls = _candidate_urls(resource, base_url)
    if not urls:
        raise DatasetDownloadError(
            f"{dataset}: {resource.filename} is not downloadable automatically. {_manual_steps(resource, path, dataset)}."
        )
    folder.mkdir(parents=True, exist_ok=True)
    failures, bad_copies = [], []
    for url in urls:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{resource.filename}.", suffix=".part", dir=folder)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                digests, size = _fetch(url, out, resource, timeout=timeout, progress=progress, dataset=dataset)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, urllib.error.HTTPError):
                reason = f"HTTP {exc.code} {exc.reason}"
            else:
                reason = getattr(exc, "reason", None) or exc
            failures.append(f"{url} ({reason})")
            continue
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if resource.size_bytes is not None and size != resource.size_bytes:
            mismatch = f"{size:,} bytes, expected {resource.size_bytes:,} (interrupted or changed upstream)"
        else:
            mismatch = _digest_mismatch(resource, digests)
            mismatch = mismatch and f"a checksum mismatch ({mismatch})"
        if mismatch:  # a broken copy on one mirror: try the next one
            tmp.unlink(missing_ok=True)
            bad_copies.append(f"{url} gave {mismatch}")
            continue
        publish(tmp, path)
        return _write_marker(path, digests, resource=resource)
    if bad_copies:
        raise DatasetIntegrityError(
            f"{dataset}: no download of {resource.filename} matched its pinned size and checksum; nothing was saved. "
            f"{'; '.join(bad_copies + failures)}. Fix: retry, or {_manual_steps(resource, path, dataset)}."
        )
    raise DatasetDownloadError(
        f"{dataset}: could not download {resource.filename}: tried {'; '.join(failures)}. "
        f"If this machine is offline, {_manual_steps(resource, path, dataset)}."
    )


def _fetch(url: str, out, resource: Resource, *, timeout: float, progress: bool, dataset: str) -> tuple[dict, int]:
    hashers = {"sha256": hashlib.sha256(), "md5": hashlib.md5(usedforsecurity=False)}
    request = urllib.request.Request(url, headers={"User-Agent": "benchmark-suite-datasets"})
    size = 0
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else resource.size_bytes
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=f"downloading {dataset}",
                  disable=not progress, leave=False) as bar:
            while True:
                block = response.read(CHUNK)
                if not block:
                    break
                out.write(block)
                for h in hashers.values():
                    h.update(block)
                size += len(block)
                bar.update(len(block))
    return {k: h.hexdigest() for k, h in hashers.items()}, size
