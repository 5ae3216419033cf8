"""The one-file SQLite cache."""

from __future__ import annotations

import threading

import pytest

from facebench.base.store import SqliteMapping, Store


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


def _edit_pair():
    """A real photo and an offline edit of it (the editor leaves the pixels off the face alone)."""
    from facebench.edit.base import ExpressionControl
    from facebench.edit.offline import OfflineEditor
    from facebench.base.imageio import load_image
    from facebench.samples import astronaut_path

    src = load_image(astronaut_path())
    return src, OfflineEditor().edit(src, ExpressionControl.single("happy", 0.75)).image


def test_edits_are_stored_once_per_pixels_as_lossless_residuals(tmp_path):
    import numpy as np

    from facebench.base import imagecodec
    from facebench.base.pixels import encode_png
    from facebench.base.imageio import image_hash

    src, edit = _edit_pair()
    s = Store(tmp_path / "c.sqlite")
    h, hs = image_hash(edit), image_hash(src)
    data = imagecodec.encode(edit, src)
    for key in ("k1", "k2"):  # two records with the same pixels share one stored image
        s.put_edit(key, {"hash": h}, data, hs, lambda: src)
    with pytest.raises(ValueError, match="base image"):
        s.put_edit("k3", {"hash": "other"}, data, "unknown-base")
    assert s._con().execute("SELECT COUNT(*) FROM images").fetchone()[0] == 2  # the edit + its source
    back = Store(tmp_path / "c.sqlite").edit_image("k2")
    assert back.dtype == np.uint8 and np.array_equal(back, edit) and np.array_equal(s.image(hs), src)
    assert len(data) * 8 < len(encode_png(edit, compress_level=3))  # measured ~15 KB vs ~450 KB
    with pytest.raises(KeyError):
        s.edit_image("nope")
    z = s.sizes()  # what a run's report states about its cache
    full = imagecodec.encode(src)
    assert z == {"edits": 2, "images": 2, "image_bytes": len(data) + len(full), "file_bytes": s.size_bytes()}
    assert z["file_bytes"] >= z["image_bytes"]


def test_legacy_png_blob_still_reads_and_prune_drops_unused_images(tmp_path):
    import numpy as np

    from facebench.base import imagecodec
    from facebench.base.pixels import encode_png
    from facebench.base.imageio import image_hash

    src, edit = _edit_pair()
    s = Store(tmp_path / "c.sqlite")
    s.put("edit", "old", {"hash": image_hash(edit)}, encode_png(edit, compress_level=3))
    assert np.array_equal(s.edit_image("old"), edit)
    s.put_edit("new", {"hash": image_hash(edit)}, imagecodec.encode(edit, src), image_hash(src), lambda: src)
    s.put_image("orphan", imagecodec.encode(src[:8, :8]))
    out = s.prune()
    assert out["images_deleted"] == 1 and out["bytes_after"] <= out["bytes_before"]
    assert np.array_equal(s.edit_image("new"), edit)  # its base (the source) was kept
    s.delete("edit", "new")
    assert s.prune()["images_deleted"] == 2 and s._con().execute("SELECT COUNT(*) FROM images").fetchone()[0] == 0


def test_residual_codec_is_exact_for_unchanged_partial_and_full_changes():
    import numpy as np

    from facebench.base import imagecodec

    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    part = base.copy()
    part[5:9, 40:53] = rng.integers(0, 256, (4, 13, 3), dtype=np.uint8)  # touches the right edge
    full = rng.integers(0, 256, base.shape, dtype=np.uint8)
    for img in (base, part, full):
        data = imagecodec.encode(img, base)
        assert np.array_equal(imagecodec.decode(data, base), img)
    assert len(imagecodec.encode(base, base)) == 12  # nothing changed: the header alone
    assert np.array_equal(imagecodec.decode(imagecodec.encode(full)), full)
    with pytest.raises(ValueError, match="does not match"):
        imagecodec.encode(full, base[:10])
    with pytest.raises(ValueError, match="not a residual"):
        imagecodec.decode(imagecodec.encode(part, base), base[:, :20])


def test_drop_other_versions_deletes_only_other_versions_of_the_same_components(tmp_path):
    import json

    def fp(kind, name, options, version):
        return json.dumps([kind, name, options, version, None], sort_keys=True)

    s = Store(tmp_path / "c.sqlite")
    s.put("edit", "new", {"hash": "a", "component": fp("editor", "offline", {}, "v2")})
    s.put("edit", "old", {"hash": "b", "component": fp("editor", "offline", {}, "v1")})
    s.put("edit", "other-options", {"hash": "c", "component": fp("editor", "offline", {"margin": 0.2}, "v1")})
    s.put("edit", "other-editor", {"hash": "d", "component": fp("editor", "pixelsmile", {}, "v1")})
    s.put("edit", "legacy", {"hash": "e"})  # written before records named their component
    s.put("judgement", "j-new", {"scores": {}, "component": fp("judge", "offline", {}, "v3")})
    s.put("judgement", "j-old", {"scores": {}, "component": fp("judge", "offline", {}, "v2")})
    s.put("identity", "i-old", {"sim": 0.9, "component": fp("recogniser", "dlib", {}, "v0")})
    dropped = s.drop_other_versions({"edit": [fp("editor", "offline", {}, "v2")],
                                     "judgement": [fp("judge", "offline", {}, "v3")]})
    assert dropped == {"edit": 1, "judgement": 1}
    assert s.has_many("edit", ["new", "old", "other-options", "other-editor", "legacy"]) == {
        "new", "other-options", "other-editor", "legacy"}  # other components' records are kept
    assert s.has_many("judgement", ["j-new", "j-old"]) == {"j-new"}
    assert s.get("identity", "i-old") is not None  # a kind not named is left alone
    assert s.drop_other_versions({"edit": [fp("editor", "offline", {}, "v2")]}, unnamed=True) == {"edit": 1}
    assert s.get("edit", "legacy") is None and s.count("edit") == 3
