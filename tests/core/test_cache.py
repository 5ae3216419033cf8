"""The shared caches of the base layer: LRU in memory, pickles in the SQLite store on disk."""

from __future__ import annotations

import pickle
import zlib
from multiprocessing import get_context

import numpy as np

from facebench.base.cache import DiskCache, MemoryCache


def test_memory_cache_drops_the_least_recently_used() -> None:
    c = MemoryCache(2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1  # a is now the most recent
    c.put("c", 3)
    assert c.get("b") is None and c.get("a") == 1 and c.get("c") == 3


def test_disk_cache_round_trip_and_damage(tmp_path) -> None:
    c = DiskCache(tmp_path)
    value = {"mesh": np.arange(12, dtype=np.float32).reshape(4, 3), "name": "x"}
    c.put("k1", value)
    got = DiskCache(tmp_path).get("k1")  # another instance on the same folder
    assert got["name"] == "x" and np.array_equal(got["mesh"], value["mesh"])
    assert (tmp_path / DiskCache.FILE).is_file() and len(c) == 1
    c.store.put(c.kind, "k1", {}, b"garbage")  # a damaged record is a miss, not a crash
    assert c.get("k1") is None and c.get("absent") is None
    c.clear()
    assert len(c) == 0


def test_old_pickle_files_are_migrated_once(tmp_path) -> None:
    old = tmp_path / "ab" / "abcdef.pkl.z"
    old.parent.mkdir()
    old.write_bytes(zlib.compress(pickle.dumps({"v": 7}), 1))
    c = DiskCache(tmp_path)
    assert c.migrated == 1 and c.get("abcdef") == {"v": 7}
    assert not old.exists() and not old.parent.exists()
    assert DiskCache(tmp_path).migrated == 0


def _put_many(args: tuple[str, int]) -> None:
    root, i = args
    c = DiskCache(root)
    for j in range(20):
        c.put(f"p{i}-{j}", (i, j))


def test_disk_cache_shared_by_processes(tmp_path) -> None:
    with get_context("spawn").Pool(3) as pool:
        pool.map(_put_many, [(str(tmp_path), i) for i in range(3)])
    c = DiskCache(tmp_path)
    assert len(c) == 60 and c.get("p2-19") == (2, 19)
