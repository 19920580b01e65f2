"""Target 6, the part of it an OCI layout's ``index.json`` takes: the peak memory of listing every
manifest of a layout, against reading its ``index.json`` whole with the strict reader and
listing it from that (as the listing did before it read the file as a stream), each in a fresh
process of its own (the growth of its peak resident set over the process before it reads).

    python -m benchmarks.measure.listing STORE                  # a layout directory
    python -m benchmarks.measure.listing DIR --synthetic 1000000  # writes DIR's index.json first

``--synthetic N`` writes an OCI layout of an ``index.json`` alone (no blobs: listing reads
none), N entries shaped as the generator's, a million of them about 290 MB.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.measure.figures import Figure
from benchmarks.measure.memory import peak_rss

MIB = 2**20
#: Memory a listing may take whatever the index's size: the chunk read and one entry.
FLAT = 16 * MIB


def synthetic(directory: Path, entries: int) -> None:
    """An OCI layout in ``directory`` whose ``index.json`` lists ``entries`` run manifests."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    with (directory / "index.json").open("w", encoding="utf-8") as out:
        out.write('{"mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2,')
        out.write('"manifests":[')
        for n in range(entries):
            entry = {
                "annotations": {"org.opencontainers.image.ref.name": f"run-{n:08d}"},
                "artifactType": "application/vnd.attestlake.run.v1+json",
                "digest": "sha256:" + hashlib.sha256(str(n).encode()).hexdigest(),
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "size": 1200 + n % 500,
            }
            out.write(("," if n else "") + json.dumps(entry, separators=(",", ":")))
        out.write("]}")


def _listed(store: Path, how: str) -> tuple[int, int, float]:
    """In this process: (manifests listed, growth of the peak RSS in bytes, CPU seconds)."""
    from attestlake._internal.untrusted_json import loads
    from attestlake.store.layout import REF_NAME, LayoutStore

    layout = LayoutStore(store)
    before = peak_rss()
    cpu = time.process_time()
    if how == "stream":
        listed = sum(1 for _ in layout.list_manifests())
    else:  # read whole: the bytes, the strict reader's value, then the listing from it
        raw = (store / "index.json").read_bytes()
        index = loads(raw, max_bytes=len(raw), max_depth=32, what="index.json")
        listed = sum(
            1
            for entry in index["manifests"]
            if isinstance((entry.get("annotations") or {}).get(REF_NAME), str)
        )
    cpu = time.process_time() - cpu
    return listed, peak_rss() - before, cpu


def measure(store: Path, how: str) -> tuple[int, int, float]:
    """:func:`_listed` in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.measure.listing", str(store), "--child", how],
        check=True,
        capture_output=True,
        text=True,
    )
    listed, grown, cpu = json.loads(out.stdout)
    return int(listed), int(grown), float(cpu)


def figures(store: Path) -> list[Figure]:
    """The listing's peak memory against reading ``index.json`` whole, and their CPU."""
    listed, grown, cpu = measure(store, "stream")
    whole_listed, whole_grown, whole_cpu = measure(store, "whole")
    if listed != whole_listed:
        raise RuntimeError(f"the two listings differ: {listed} and {whole_listed} manifests")
    return [
        Figure(
            f"6 listing {listed:,} manifests, peak memory",
            grown / MIB,
            "MiB",
            whole_grown / MIB,
            "MiB index.json read whole",
            whole_grown / max(grown, 1),
            f"< {FLAT // MIB} MiB, flat in N",
            grown < FLAT,
        ),
        Figure(
            "6 listing, CPU",
            cpu,
            "s",
            whole_cpu,
            "s index.json read whole",
            whole_cpu / cpu,
            "(read through twice)",
            None,
        ),
    ]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.measure.listing")
    parser.add_argument("store", type=Path)
    parser.add_argument("--synthetic", type=int, metavar="N")
    parser.add_argument("--child", choices=("stream", "whole"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_listed(args.store, args.child)))
        return
    if args.synthetic is not None:
        synthetic(args.store, args.synthetic)
    for figure in figures(args.store):
        print(figure.row())


if __name__ == "__main__":
    main(sys.argv[1:])
