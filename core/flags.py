"""Labels a user flagged as looking wrong in the MNIST test set: one small JSON file."""
from __future__ import annotations

import json
from pathlib import Path

from .bundle import write_text_atomic


def read_flags(path) -> dict:
    """{MNIST test index (str): what was flagged} from the label-flags file; {} when there is none."""
    try:
        flags = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return flags if isinstance(flags, dict) else {}


def set_flag(path, test_index: int, record: dict | None) -> None:
    """Flag a test digit's label as looking wrong (`record`: what the user saw), or unflag (None)."""
    flags = read_flags(path)
    if record is None:
        flags.pop(str(test_index), None)
    else:
        flags[str(test_index)] = record
    write_text_atomic(path, flags_json(flags))


def flags_json(flags: dict) -> str:
    return json.dumps(dict(sorted(flags.items(), key=lambda kv: int(kv[0]))), indent=1) + "\n"
