"""Where the mapping Baton ships lives: package data next to this module, so an installed
wheel has it as well as a checkout (kept import-free: settings read it at start-up)."""

from __future__ import annotations

from pathlib import Path

PACKAGED_MAPPING = Path(__file__).with_name("default_mapping.yaml")
