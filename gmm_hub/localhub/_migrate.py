"""Roots written by gmm_hub 0.1.0 (JSON snapshots and blobs by sha1): migrated on first start."""

from __future__ import annotations

from pathlib import Path


def migrate_root(root: Path) -> None:
    """Migrate a 0.1.0 root in place (placeholder until the migration lands)."""
