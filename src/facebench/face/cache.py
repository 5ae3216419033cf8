"""Caches for face-analysis results: an in-memory LRU and an optional on-disk store.

Keys are strings made by the caller (image content hash + analysis settings). The disk store
keeps one zlib-compressed pickle per key under ``<root>/<key[:2]>/<key>.pkl.z``, written
atomically, so several processes can share a folder. The folder comes from an argument or the
``FACEBENCH_CACHE`` environment variable. Pickles run code when loaded: only point the cache at a
folder you own. A file that cannot be read back is treated as a miss.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import threading
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Any

#: Environment variable naming the default on-disk cache folder (unset: no disk cache).
CACHE_ENV = "FACEBENCH_CACHE"


def default_cache_dir() -> Path | None:
    """The folder named by ``$FACEBENCH_CACHE``, or None when unset or empty."""
    value = os.environ.get(CACHE_ENV, "").strip()
    return Path(value).expanduser() if value else None


class MemoryCache:
    """A thread-safe least-recently-used mapping holding at most ``maxsize`` items."""

    def __init__(self, maxsize: int = 64) -> None:
        self.maxsize = max(0, int(maxsize))
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        """The value stored under ``key`` (marking it recently used), or None."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: str, value: Any) -> None:
        """Store ``value``; the least recently used item goes when the cache is full."""
        if self.maxsize == 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class DiskCache:
    """One compressed pickle per key under ``root`` (created on first write)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """Where the value for ``key`` lives."""
        return self.root / key[:2] / f"{key}.pkl.z"

    def get(self, key: str) -> Any | None:
        """The stored value, or None if absent or unreadable."""
        p = self.path(key)
        try:
            return pickle.loads(zlib.decompress(p.read_bytes()))
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - a damaged or foreign file is a miss, not a crash
            return None

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` atomically (write to a temporary file, then rename)."""
        p = self.path(key)
        p.parent.mkdir(parents=True, exist_ok=True)
        data = zlib.compress(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), 1)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def clear(self) -> None:
        """Delete every stored value (the folder itself stays)."""
        for f in self.root.glob("*/*.pkl.z"):
            f.unlink(missing_ok=True)
