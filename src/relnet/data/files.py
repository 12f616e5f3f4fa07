"""Fingerprints of the files a cache is built from."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def files_fingerprint(header: str, files: Iterable[tuple[str, Path]]) -> str | None:
    """A digest of ``header`` and each ``(name, path)``'s name, size and modification time; None when a
    file cannot be read. A cache stored with it is stale as soon as a file is replaced, cut or removed."""
    digest = hashlib.sha256(header.encode())
    for name, path in files:
        try:
            stat = Path(path).stat()
        except OSError:
            return None
        digest.update(f"\n{name}\t{stat.st_size}\t{stat.st_mtime_ns}".encode())
    return digest.hexdigest()
