"""Keep numba's on-disk kernel cache consistent across files (explicit; nothing runs on import).

numba keys a cached function on its own source file only (index stamp: the file's modification time
and size). The kernels call each other across files (``dataflows``, ``results``, ``memory/*``,
``cycle/*``) and a caller's machine code inlines its callees, so an edit to one file can leave stale
code cached for callers in another. ``refresh_kernel_cache`` hashes all kernel sources, compares the
digest with the one stored beside the cache, and on a difference deletes the cached kernels so that
numba recompiles them. It is called by the build steps (``make test``/``demo``/``bench`` run
``python -m simulator.jitcache``) and at the start of the test session (``tests/conftest.py``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: folders whose ``*.py`` files define or call ``@njit(cache=True)`` kernels
KERNEL_DIRS = (HERE, HERE / "memory", HERE / "cycle")


def kernel_sources() -> list[Path]:
    return sorted(p for d in KERNEL_DIRS for p in d.glob("*.py"))


def refresh_kernel_cache() -> bool:
    """Drop cached kernels when any kernel source changed since the last call; True if it dropped them.

    A read-only install (no permission to write the stamp) is left alone: numba then uses its user
    cache directory, which is keyed per file as usual.
    """
    sources = kernel_sources()
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    stamp = HERE / "__pycache__" / "kernels.sha256"
    try:
        if stamp.exists() and stamp.read_text() == digest:
            return False
        for folder in KERNEL_DIRS:
            for f in (folder / "__pycache__").glob("*.nb?"):
                f.unlink(missing_ok=True)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        return False
    return True


if __name__ == "__main__":
    print("numba kernel cache refreshed" if refresh_kernel_cache() else "numba kernel cache up to date")
