"""Fail unless a release tag names the package version: ``gmm-hub-vX.Y.Z`` for ``__version__ = "X.Y.Z"``.

Run by ``.github/workflows/release.yml`` before anything is built or published,
so a tag that disagrees with the code never reaches PyPI. Reads the version
from ``gmm_hub/__init__.py`` as text: the package's dependencies need not be
installed.

Usage: ``python scripts/check_release_tag.py TAG`` (exit 0 on a match, 1 with
one line on stderr otherwise).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

TAG_PREFIX = "gmm-hub-v"
INIT = Path(__file__).resolve().parents[1] / "gmm_hub" / "__init__.py"


def package_version(init: Path = INIT) -> str:
    match = re.search(r'^__version__ = "([^"]+)"$', init.read_text(encoding="utf-8"), flags=re.M)
    if match is None:
        raise SystemExit(f'check_release_tag: no __version__ = "..." line in {init}')
    return match.group(1)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: check_release_tag.py TAG", file=sys.stderr)
        return 2
    tag, version = argv[0], package_version()
    if tag != f"{TAG_PREFIX}{version}":
        print(
            f"release tag {tag!r} does not match the package version {version!r}: expected tag "
            f"{TAG_PREFIX}{version!s}; bump __version__ in gmm_hub/__init__.py or re-tag",
            file=sys.stderr,
        )
        return 1
    print(f"release tag {tag} matches gmm-hub {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
