"""The one-file SQLite cache."""

from __future__ import annotations

import threading

import pytest

from facebench.bench.store import SqliteMapping, Store


def test_put_get_persist(tmp_path):
    s = Store(tmp_path / "sub" / "c.sqlite")
    s.put("edit", "k1", {"hash": "abc", "n": 1}, b"\x89PNG...")
    s.put("judgement", "k1", {"scores": {"happy": 0.5}})
    assert s.get("edit", "k1").value == {"hash": "abc", "n": 1} and s.get("edit", "k1").blob == b"\x89PNG..."
    assert s.get("judgement", "k1").blob is None and s.get("edit", "nope") is None
    s.close()
    again = Store(tmp_path / "sub" / "c.sqlite")
    assert again.count() == 2 and again.count("edit") == 1
    assert set(again.get_many("edit", ["k1", "k2"])) == {"k1"}
    assert again.has_many("judgement", ["k1", "zz"]) == {"k1"}


def test_many_threads_write_without_losing_records(tmp_path):
    s = Store(tmp_path / "c.sqlite")

    def work(t: int) -> None:
        for i in range(40):
            s.put("x", f"{t}-{i}", {"i": i})

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert s.count("x") == 160
    assert len(s.has_many("x", [f"{t}-{i}" for t in range(4) for i in range(40)])) == 160


def test_mapping_view(tmp_path):
    m = SqliteMapping(tmp_path / "c.sqlite", table="vlm")
    m["a"] = "one"
    m["b"] = "two"
    assert m["a"] == "one" and len(m) == 2 and set(m) == {"a", "b"} and m.get("zz") is None
    del m["a"]
    assert "a" not in m
    with pytest.raises(KeyError):
        del m["a"]
    assert SqliteMapping(tmp_path / "c.sqlite", table="vlm")["b"] == "two"
    assert len(SqliteMapping(tmp_path / "c.sqlite", table="other")) == 0


def test_bad_paths(tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        Store(tmp_path)
    (tmp_path / "junk.sqlite").write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(ValueError, match="not a facebench cache"):
        Store(tmp_path / "junk.sqlite")
