"""Builds qrad.zip, the release asset that the Marketplace (HACS) installs.

hacs.json asks for `zip_release` with this file name: the Marketplace downloads
the asset of the release the owner picks and extracts it as it is into
custom_components/qrad/, so the zip holds the integration's files at its root
and nothing else (no tests, no emulator). The end-to-end tests install the
integration from this zip, as an owner's Home Assistant would.

Usage: python3 scripts/release.py [--output DIR] [--tag vX.Y.Z]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
import zipfile

REPO = Path(__file__).resolve().parent.parent
INTEGRATION = REPO / "custom_components" / "qrad"
ASSET = "qrad.zip"
# The import rules of ruff (README, Layout) are the repository's, not an owner's.
LINT_ONLY = frozenset({"ruff.toml"})


def build(output: Path) -> Path:
    """Write output/qrad.zip from custom_components/qrad; return its path."""
    output.mkdir(parents=True, exist_ok=True)
    asset = output / ASSET
    files = sorted(
        path
        for path in INTEGRATION.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.name not in LINT_ONLY
    )
    with zipfile.ZipFile(asset, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(INTEGRATION).as_posix())
    return asset


def main() -> int:
    """Build the asset; with --tag, refuse a tag that is not the manifest's version."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO / "dist")
    parser.add_argument("--tag", help="the release's tag, v + manifest.json's version")
    args = parser.parse_args()
    version = json.loads((INTEGRATION / "manifest.json").read_text())["version"]
    if args.tag is not None and args.tag != f"v{version}":
        print(
            f"the tag {args.tag} is not v{version}, manifest.json's version",
            file=sys.stderr,
        )
        return 1
    print(build(args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
