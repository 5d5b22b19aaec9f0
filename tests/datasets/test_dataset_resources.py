"""Checksums, markers and atomic downloads against a local HTTP server."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from datasets._errors import DatasetDownloadError, DatasetIntegrityError, DatasetNotFoundError
from datasets import _resources
from datasets._resources import (BASE_URL_ENV, Resource, default_root, download_file, ensure_file, hash_file,
                                 read_marker, update_marker, verify_file)

PAYLOAD = bytes(range(256)) * 9000  # 2.3 MB: several 1 MiB chunks


def _resource(**kw) -> Resource:
    base = dict(filename="blob.bin", urls=("http://127.0.0.1:9/blob.bin",), size_bytes=len(PAYLOAD),
                sha256=hashlib.sha256(PAYLOAD).hexdigest(), md5=hashlib.md5(PAYLOAD).hexdigest())
    base.update(kw)
    return Resource(**base)


def test_hash_file_matches_hashlib_across_chunks(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(PAYLOAD)
    got = hash_file(p, progress=False)
    assert got == {"sha256": hashlib.sha256(PAYLOAD).hexdigest(), "md5": hashlib.md5(PAYLOAD).hexdigest()}


def test_default_root_env(monkeypatch, tmp_path):
    monkeypatch.setenv("BENCHMARK_DATA", str(tmp_path))
    assert default_root() == tmp_path
    monkeypatch.delenv("BENCHMARK_DATA")
    assert default_root() == (os.path.expanduser("~") / __import__("pathlib").Path(".cache/benchmark/data"))


def test_verify_writes_marker_and_detects_changes(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    p = folder / "blob.bin"
    p.write_bytes(PAYLOAD)
    marker = verify_file(_resource(), p, dataset="toy", progress=False)
    assert marker["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert json.loads((folder / "blob.bin.verified.json").read_text())["size"] == len(PAYLOAD)
    assert read_marker(p)["md5"] == hashlib.md5(PAYLOAD).hexdigest()
    # a change of the file (same size, new mtime) invalidates the marker
    p.write_bytes(PAYLOAD[::-1])
    os.utime(p, ns=(1, 1))
    assert read_marker(p) is None
    with pytest.raises(DatasetIntegrityError, match=r"toy: checksum mismatch for .*blob.bin: expected sha256"):
        ensure_file(_resource(), folder, dataset="toy", progress=False)


def test_missing_file_message_names_path_and_fix(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        ensure_file(_resource(), tmp_path / "ds", dataset="toy", progress=False)
    msg = str(info.value)
    assert str(tmp_path / "ds" / "blob.bin") in msg
    assert "python -m benchmark data download toy --root" in msg and "download=True" in msg


def test_truncated_file_is_refused_by_size(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "blob.bin").write_bytes(PAYLOAD[:1000])
    with pytest.raises(DatasetIntegrityError, match=r"has 1,000 bytes, expected 2,304,000 \(truncated\)"):
        ensure_file(_resource(), folder, dataset="toy", progress=False)


def test_download_from_local_server_is_verified_and_atomic(http_server, tmp_path):
    base, served = http_server
    (served / "blob.bin").write_bytes(PAYLOAD)
    folder = tmp_path / "data" / "ds"
    marker = download_file(_resource(), folder, dataset="toy", base_url=base, progress=False)
    assert (folder / "blob.bin").read_bytes() == PAYLOAD
    assert marker["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert sorted(p.name for p in folder.iterdir()) == ["blob.bin", "blob.bin.verified.json"]  # no temp left


def test_download_uses_env_base_url(http_server, tmp_path, monkeypatch):
    base, served = http_server
    (served / "blob.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv(BASE_URL_ENV, base + "/")
    path, marker = ensure_file(_resource(), tmp_path / "ds", dataset="toy", download=True, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_download_checksum_mismatch_leaves_nothing(http_server, tmp_path):
    base, served = http_server
    corrupted = bytearray(PAYLOAD)
    corrupted[12345] ^= 0xFF
    (served / "blob.bin").write_bytes(bytes(corrupted))
    folder = tmp_path / "ds"
    with pytest.raises(DatasetIntegrityError) as info:
        download_file(_resource(), folder, dataset="toy", base_url=base, progress=False)
    msg = str(info.value)
    assert f"{base}/blob.bin" in msg and "expected sha256" in msg and "nothing was saved" in msg
    assert list(folder.iterdir()) == []


def test_download_size_mismatch(http_server, tmp_path):
    base, served = http_server
    (served / "blob.bin").write_bytes(PAYLOAD[:-10])
    with pytest.raises(DatasetIntegrityError, match=r"gave 2,303,990 bytes, expected 2,304,000"):
        download_file(_resource(), tmp_path / "ds", dataset="toy", base_url=base, progress=False)


def test_download_http_404_names_url_and_manual_steps(http_server, tmp_path):
    base, _ = http_server  # nothing served
    with pytest.raises(DatasetDownloadError) as info:
        download_file(_resource(), tmp_path / "ds", dataset="toy", base_url=base, progress=False)
    msg = str(info.value)
    assert f"{base}/blob.bin" in msg and "HTTP 404" in msg
    assert "by hand" in msg and "python -m benchmark data verify toy" in msg
    assert list((tmp_path / "ds").iterdir()) == []


def test_download_offline_tries_every_mirror(tmp_path):
    res = _resource(urls=("http://127.0.0.1:9/a/blob.bin", "http://127.0.0.1:9/b/blob.bin"))
    with pytest.raises(DatasetDownloadError) as info:
        download_file(res, tmp_path / "ds", dataset="toy", progress=False, timeout=5)
    msg = str(info.value)
    assert "http://127.0.0.1:9/a/blob.bin" in msg and "http://127.0.0.1:9/b/blob.bin" in msg
    assert "If this machine is offline, download http://127.0.0.1:9/a/blob.bin by hand" in msg


def test_download_skips_when_present_and_replaces_corrupted(http_server, tmp_path):
    base, served = http_server
    (served / "blob.bin").write_bytes(PAYLOAD)
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "blob.bin").write_bytes(b"x" * len(PAYLOAD))  # corrupted leftover of the right size
    download_file(_resource(), folder, dataset="toy", base_url=base, progress=False)
    assert (folder / "blob.bin").read_bytes() == PAYLOAD
    (served / "blob.bin").unlink()  # present and valid: no network needed
    download_file(_resource(), folder, dataset="toy", base_url=base, progress=False)


def test_manual_only_resource(tmp_path):
    res = Resource("x.npz", (), manual="Ask the authors.")
    with pytest.raises(DatasetDownloadError, match=r"not downloadable automatically. Ask the authors. obtain the file"):
        download_file(res, tmp_path / "ds", dataset="toy", progress=False)


def test_a_mirror_serving_a_broken_copy_does_not_stop_the_next_one(http_server, tmp_path):
    base, served = http_server
    (served / "bad").mkdir()
    (served / "good").mkdir()
    (served / "bad" / "blob.bin").write_bytes(b"<html>moved</html>" + PAYLOAD[18:])  # right size, wrong bytes
    (served / "good" / "blob.bin").write_bytes(PAYLOAD)
    res = _resource(urls=(f"{base}/bad/blob.bin", f"{base}/good/blob.bin"))
    folder = tmp_path / "ds"
    download_file(res, folder, dataset="toy", progress=False)
    assert (folder / "blob.bin").read_bytes() == PAYLOAD
    # every mirror broken: an integrity error naming what each one gave, nothing saved
    (served / "good" / "blob.bin").write_bytes(PAYLOAD[:-10])
    with pytest.raises(DatasetIntegrityError) as info:
        download_file(res, tmp_path / "ds2", dataset="toy", progress=False)
    msg = str(info.value)
    assert f"{base}/bad/blob.bin gave a checksum mismatch (expected sha256" in msg
    assert f"{base}/good/blob.bin gave 2,303,990 bytes, expected 2,304,000" in msg and "nothing was saved" in msg
    assert list((tmp_path / "ds2").iterdir()) == []


def test_downloads_get_the_mode_of_a_new_file_not_mkstemps_0600(http_server, tmp_path):
    base, served = http_server
    (served / "blob.bin").write_bytes(PAYLOAD)
    old = os.umask(0o022)
    try:
        download_file(_resource(), tmp_path / "ds", dataset="toy", base_url=base, progress=False)
    finally:
        os.umask(old)
    assert (tmp_path / "ds" / "blob.bin").stat().st_mode & 0o777 == 0o644  # other users of a shared root can read it


def test_an_unreadable_npz_is_not_called_corrupted(tmp_path, monkeypatch):
    # (the tests run as root, who may read anything: the OS refusal is simulated)
    import zipfile

    from datasets._npz import open_zip

    def refuse(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(zipfile, "ZipFile", refuse)
    with pytest.raises(PermissionError, match=r"toy: .*f\.npz exists but this user may not read it .*chmod a\+r"):
        open_zip(tmp_path / "f.npz", "toy")


def _verified_blob(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    p = folder / "blob.bin"
    p.write_bytes(PAYLOAD)
    verify_file(_resource(), p, dataset="toy", progress=False)
    return folder, p, folder / "blob.bin.verified.json"


def test_a_damaged_marker_only_costs_a_reverification(tmp_path):
    folder, p, marker_path = _verified_blob(tmp_path)
    for content in ("null", "[]", '"x"'):
        marker_path.write_text(content)
        assert read_marker(p) is None
        path, marker = ensure_file(_resource(), folder, dataset="toy", progress=False)
        assert marker["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()


# ---- the marker records the pins it was verified against ---------------------------------------
@pytest.fixture
def hash_calls(monkeypatch):
    """Counts the full hashing passes (spy on the streaming helper)."""
    calls = []

    def spy(path, *args, **kwargs):
        calls.append(os.fspath(path))
        return hash_file(path, *args, **kwargs)

    monkeypatch.setattr(_resources, "hash_file", spy)
    return calls


def test_the_marker_records_the_pins_and_survives_updates(tmp_path, hash_calls):
    folder, p, marker = _verified_blob(tmp_path)
    pins = {"sha256": _resource().sha256, "md5": _resource().md5}
    assert json.loads(marker.read_text())["pinned"] == pins
    update_marker(p, {"format_check_toy_v1": True})  # the adapters' one-time format check keeps the pins
    assert json.loads(marker.read_text())["pinned"] == pins
    hash_calls.clear()
    path, data = ensure_file(_resource(), folder, dataset="toy", progress=False)
    assert hash_calls == [] and data["format_check_toy_v1"]  # same pins: trusted on size, no re-hash


def test_a_marker_verified_under_another_pin_is_rehashed_once(tmp_path, hash_calls):
    # A new release of the project pins another sha256 (here one the file matches): the old verification
    # says nothing about the new pin, so the file is hashed again once and the marker records the new pin.
    folder, p, marker = _verified_blob(tmp_path)
    data = json.loads(marker.read_text())
    data["pinned"] = {"sha256": "a" * 64, "md5": _resource().md5}  # as written when the project pinned "aaaa..."
    marker.write_text(json.dumps(data))
    hash_calls.clear()
    path, got = ensure_file(_resource(), folder, dataset="toy", progress=False)
    assert hash_calls == [str(p)]
    assert got["pinned"]["sha256"] == json.loads(marker.read_text())["pinned"]["sha256"] == _resource().sha256
    ensure_file(_resource(), folder, dataset="toy", progress=False)
    assert hash_calls == [str(p)]  # recorded: the next load trusts it again


def test_a_changed_pin_the_file_does_not_match_is_an_integrity_error(tmp_path):
    folder, p, marker = _verified_blob(tmp_path)  # verified under the old pin: the marker is up to date
    new_pin = hashlib.sha256(b"the next release").hexdigest()
    with pytest.raises(DatasetIntegrityError, match=rf"toy: checksum mismatch for .*blob.bin: expected sha256 "
                                                    rf"{new_pin[:12]}\w*, got {hashlib.sha256(PAYLOAD).hexdigest()[:12]}"):
        ensure_file(_resource(sha256=new_pin), folder, dataset="toy", progress=False)


def test_a_marker_of_an_earlier_version_without_pins_is_reverified(tmp_path, hash_calls):
    folder, p, marker = _verified_blob(tmp_path)
    data = json.loads(marker.read_text())
    del data["pinned"]  # what earlier versions wrote
    marker.write_text(json.dumps(data))
    assert read_marker(p) is not None and read_marker(p, _resource()) is None
    hash_calls.clear()
    path, got = ensure_file(_resource(), folder, dataset="toy", progress=False)
    assert hash_calls == [str(p)] and got["pinned"] == {"sha256": _resource().sha256, "md5": _resource().md5}
    marker.write_text(json.dumps(data))  # an old marker again, now under an md5 pin the file does not match
    with pytest.raises(DatasetIntegrityError, match=r"toy: checksum mismatch for .*blob.bin: expected md5 0{32}, got"):
        ensure_file(_resource(md5="0" * 32), folder, dataset="toy", progress=False)
