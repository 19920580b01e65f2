"""Hostile archives given as a Helm chart or a ZAP report: members that escape the archive,
links, bombs and lies about sizes are refused with a MaterialError naming the file, in
bounded time and memory; nothing is ever extracted or followed."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from attestlake._internal import untrusted_archive
from attestlake.errors import MaterialError
from attestlake.evidence.materials import read_material
from tests import assets

CHART = assets.path("helm/skynet/Chart.yaml").read_bytes()
ZAP = assets.path("scans/zap-baseline-report_json.json").read_bytes()


def _tgz(*members: tarfile.TarInfo, data: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for info in members:
            body = (data or {}).get(info.name)
            tar.addfile(info, io.BytesIO(body) if body is not None else None)
    return out.getvalue()


def _file(name: str, body: bytes) -> tuple[tarfile.TarInfo, dict[str, bytes]]:
    info = tarfile.TarInfo(name)
    info.size = len(body)
    return info, {name: body}


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def _refused(tmp_path: Path, kind: str, data: bytes) -> str:
    path = tmp_path / "hostile"
    path.write_bytes(data)
    with pytest.raises(MaterialError) as caught:
        read_material("m", kind, str(path))
    assert str(path) in str(caught.value)
    return str(caught.value)


@pytest.mark.attack("crash")
@pytest.mark.parametrize(
    "name",
    ["../skynet/Chart.yaml", "skynet/../../etc/Chart.yaml", "/skynet/Chart.yaml",
     "C:\\skynet\\Chart.yaml", "skynet\\..\\..\\Chart.yaml"],
)  # fmt: skip
def test_a_chart_member_escaping_the_archive_is_refused(tmp_path: Path, name: str) -> None:
    info, data = _file(name, CHART)
    assert "escapes the archive, refused" in _refused(tmp_path, "HELM_CHART", _tgz(info, data=data))


@pytest.mark.attack("crash")
@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE], ids=["symlink", "hardlink"])
def test_a_chart_yaml_that_is_a_link_is_not_followed(tmp_path: Path, kind: bytes) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_bytes(CHART)  # what the link would reach if it were followed
    archive = _tgz(_link("skynet/Chart.yaml", str(outside), kind))
    message = _refused(tmp_path, "HELM_CHART", archive)
    assert "Chart.yaml is a link, which is not followed" in message


@pytest.mark.attack("crash")
def test_devices_and_fifos_in_a_chart_are_skipped(tmp_path: Path) -> None:
    info, data = _file("skynet/Chart.yaml", CHART)
    fifo = tarfile.TarInfo("skynet/templates/pipe")
    fifo.type = tarfile.FIFOTYPE
    device = tarfile.TarInfo("skynet/dev-zero")
    device.type, device.devmajor, device.devminor = tarfile.CHRTYPE, 1, 5
    path = tmp_path / "chart.tgz"
    path.write_bytes(_tgz(info, fifo, device, data=data))
    material, _ = read_material("chart", "HELM_CHART", str(path))
    assert material.details["files"] == 1  # only the regular file is counted and read


@pytest.mark.attack("crash")
def test_a_gzip_bomb_stops_at_the_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(untrusted_archive, "MAX_INFLATED_BYTES", 1 << 20)
    bomb = gzip.compress(b"\0" * (4 << 20))
    assert len(bomb) < 10_000
    assert "inflates past the 1048576-byte bound" in _refused(tmp_path, "HELM_CHART", bomb)


@pytest.mark.attack("crash")
def test_a_chart_member_over_the_bound_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(untrusted_archive, "MAX_MEMBER_BYTES", 1024)
    info, data = _file("skynet/Chart.yaml", CHART + b"#" * 2048)
    assert "over the 1024-byte bound" in _refused(tmp_path, "HELM_CHART", _tgz(info, data=data))


@pytest.mark.attack("crash")
def test_an_archive_of_too_many_members_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(untrusted_archive, "MAX_MEMBERS", 50)
    members, data = [], {}
    for i in range(60):
        info, body = _file(f"skynet/templates/t{i}.yaml", b"a: 1\n")
        members.append(info)
        data.update(body)
    assert "more than 50 members" in _refused(tmp_path, "HELM_CHART", _tgz(*members, data=data))


@pytest.mark.attack("crash")
def test_a_truncated_chart_is_refused(tmp_path: Path) -> None:
    info, data = _file("skynet/Chart.yaml", CHART)
    whole = _tgz(info, data=data)
    message = _refused(tmp_path, "HELM_CHART", whole[: len(whole) // 2])
    assert "HELM_CHART" in message


def _zip(entries: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, body in entries:
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, body)
    return out.getvalue()


@pytest.mark.attack("crash")
def test_a_zap_report_that_is_a_symlink_is_not_followed(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("report_json.json")
    link.create_system, link.external_attr = 3, (0o120777 << 16)
    archive = _zip([(link, b"/etc/passwd")])
    assert "holds no ZAP report" in _refused(tmp_path, "ZAP_DAST_ZIP", archive)


@pytest.mark.attack("crash")
def test_a_zap_member_escaping_the_archive_is_refused(tmp_path: Path) -> None:
    archive = _zip([(zipfile.ZipInfo("../../report_json.json"), ZAP)])
    assert "escapes the archive, refused" in _refused(tmp_path, "ZAP_DAST_ZIP", archive)


@pytest.mark.attack("crash")
def test_a_zip_bomb_is_refused_before_it_inflates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(untrusted_archive, "MAX_MEMBER_BYTES", 1 << 20)
    archive = _zip([(zipfile.ZipInfo("report_json.json"), b" " * (8 << 20))])
    assert len(archive) < 20_000
    assert "over the 1048576-byte bound" in _refused(tmp_path, "ZAP_DAST_ZIP", archive)


@pytest.mark.attack("crash")
def test_a_zip_that_lies_about_its_size_is_refused(tmp_path: Path) -> None:
    archive = bytearray(_zip([(zipfile.ZipInfo("report_json.json"), ZAP)]))
    # The central directory's uncompressed size (offset 24 of its entry) says 10 bytes.
    central = archive.rfind(b"PK\x01\x02")
    archive[central + 24 : central + 28] = (10).to_bytes(4, "little")
    message = _refused(tmp_path, "ZAP_DAST_ZIP", bytes(archive))
    assert "member 'report_json.json' cannot be read" in message


@pytest.mark.attack("crash")
def test_an_encrypted_zap_member_is_refused(tmp_path: Path) -> None:
    archive = bytearray(_zip([(zipfile.ZipInfo("report_json.json"), ZAP)]))
    for marker in (b"PK\x03\x04", b"PK\x01\x02"):  # set the "encrypted" flag in both headers
        at = archive.find(marker)
        flag_at = at + (6 if marker == b"PK\x03\x04" else 8)
        archive[flag_at] |= 0x01
    assert "cannot be read" in _refused(tmp_path, "ZAP_DAST_ZIP", bytes(archive))


@pytest.mark.attack("crash")
def test_a_zap_member_of_garbled_lzma_data_is_refused(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_LZMA) as archive:
        archive.writestr("report_json.json", ZAP)
    garbled = bytearray(out.getvalue())
    start = garbled.find(b"report_json.json") + len("report_json.json")  # the member's data
    garbled[start + 4 : start + 64] = b"A" * 60  # after LZMA's 4-byte properties header
    message = _refused(tmp_path, "ZAP_DAST_ZIP", bytes(garbled))
    assert "member 'report_json.json' cannot be read" in message
