"""Generate an organisation of N runs, signed for real, into an OCI layout store.

    .venv/bin/python benchmarks/generate.py DIR [--runs 10000] [--days 90] [--jobs 2]

Teams, projects and workflows whose runs are made with attestlake's own collector over the
last DAYS days: CycloneDX SBOMs of tens to hundreds of components, SLSA provenance, about 3%
of the workflows signing keyless (Sigstore bundles of a private instance), the rest with an
ECDSA P-256 key; planted findings listed in DIR/generated.json. Crawl it with

    attestlake crawl --from oci:DIR/store --trust DIR/trust.yaml --lake LAKE
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.organisation.generate import generate


def _positive(text: str) -> int:
    value = int(text.replace("_", "").replace(",", ""))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("directory", type=Path, help="where to write (new, or made by this tool)")
    parser.add_argument("--runs", type=_positive, default=10_000, help="runs to make (10000)")
    parser.add_argument("--days", type=_positive, default=90, help="days they span (90)")
    parser.add_argument("--seed", type=int, default=1984, help="random seed (1984)")
    parser.add_argument("--jobs", type=_positive, default=None, help="worker processes (cores)")
    args = parser.parse_args(argv)
    try:
        made = generate(args.directory, args.runs, days=args.days, seed=args.seed, jobs=args.jobs)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"generated {made.runs:,} runs ({made.failed:,} failed) of {made.workflows:,} workflows "
        f"in {made.seconds:.1f} s = {made.runs / made.seconds:,.0f} runs/s: "
        f"{made.envelopes:,} DSSE envelopes, {made.bundles:,} Sigstore bundles, "
        f"{made.components:,} SBOM components, {made.blob_bytes / 2**20:,.1f} MiB of blobs"
    )
    print(
        f"crawl: attestlake crawl --from oci:{made.store} --trust {made.trust_policy} --lake LAKE"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
