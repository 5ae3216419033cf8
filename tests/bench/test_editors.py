"""The folder, PixelSmile-gallery, command and HTTP editors."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from PIL import Image

from facebench.edit.external import (
    CommandEditor, EditError, FolderEditor, GalleryEditor, HttpEditor, gallery_alphas, gallery_frame,
)
from facebench.bench.manifest import gallery_tasks
from facebench.bench.reference import gallery_dir
from facebench.edit.base import EDITORS, ExpressionControl
from facebench.base.imageio import load_image

single = ExpressionControl.single


@pytest.fixture(scope="module")
def face(faces_dir):
    return load_image(faces_dir / "astronaut.png")


def test_all_registered():
    for name in ("folder", "pixelsmile-gallery", "http", "command"):
        meta = EDITORS.meta(name)
        assert meta["licence"] and meta["description"] and "needs_gpu" in meta


def test_folder_layout(tmp_path, face):
    for alpha, v in (("0", 10), ("0.5", 20), ("1", 30)):
        d = tmp_path / "mine" / "t1" / "happy"
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full_like(face, v)).save(d / f"{alpha}.png")
    Image.fromarray(np.full((64, 64, 3), 7, np.uint8)).save(tmp_path / "mine" / "t1" / "happy" / "0.250.webp")
    ed = FolderEditor(tmp_path, model="mine")
    assert ed.edit(face, single("happy", 0.5), task="t1").image[0, 0, 0] == 20
    assert ed.edit(face, single("happy", 1), task="t1").info["file"].endswith("1.png")
    assert ed.edit(face, single("happy", 0.25), task="t1").image.shape == (64, 64, 3)  # the runner rejects the size
    resized = FolderEditor(tmp_path, model="mine", resize=True).edit(face, single("happy", 0.25), task="t1")
    assert resized.image.shape == face.shape and resized.info["resized_from"] == [64, 64]
    with pytest.raises(EditError, match="no file for alpha 0.75"):
        ed.edit(face, single("happy", 0.75), task="t1")
    with pytest.raises(EditError, match="no folder"):
        ed.edit(face, single("sad", 1), task="t1")
    with pytest.raises(EditError, match="needs the task id"):
        ed.edit(face, single("happy", 1))
    with pytest.raises(ValueError, match="not found"):
        FolderEditor(tmp_path, model="theirs")


def test_gallery_frame_mapping():
    assert gallery_frame(0.0) == 1 and gallery_frame(1.0) == 27 and gallery_frame(0.5) == 14
    assert [gallery_frame(a) for a in gallery_alphas()] == list(range(1, 28))
    with pytest.raises(EditError):
        gallery_frame(1.5)


@pytest.mark.skipif(gallery_dir() is None, reason="PixelSmile gallery folder (../shared/data) not present")
def test_gallery_editor_reads_frames_at_source_size():
    g = gallery_dir()
    ed = GalleryEditor(g)
    (task,) = gallery_tasks(g, ["happy"])
    src = load_image(task.image)
    out = ed.edit(src, single("happy", 1.0))
    assert out.image.shape == src.shape and out.info["frame"] == 27 and out.info["resized_from"] == [1024, 1024]
    with pytest.raises(EditError, match="not the gallery's"):
        ed.edit(src, single("sad", 1.0))  # another expression's source person


@pytest.fixture()
def script(tmp_path):
    p = tmp_path / "edit_tool.py"
    p.write_text(
        "import sys\nfrom PIL import Image, ImageOps\n"
        "src, dst, expr, alpha = sys.argv[1:5]\n"
        "if expr == 'sad': sys.exit('cannot do sad faces')\n"
        "if expr == 'fear': sys.exit(0)\n"
        "if expr == 'shy':\n    import time; time.sleep(5)\n"
        "img = Image.open(src)\n"
        "ImageOps.posterize(img, 8 - int(float(alpha) * 4)).save(dst)\n")
    return p


def test_command_editor(script, face):
    ed = CommandEditor(f"{sys.executable} {script} {{input}} {{output}} {{expression}} {{alpha}}", timeout=2)
    out = ed.edit(face, single("happy", 1.0))
    assert out.image.shape == face.shape and not np.array_equal(out.image, face)
    assert np.array_equal(ed.edit(face, single("happy", 0.0)).image, face)  # 8 bits kept
    with pytest.raises(EditError, match="status 1: cannot do sad faces"):
        ed.edit(face, single("sad", 1.0))
    with pytest.raises(EditError, match="wrote no output.png"):
        ed.edit(face, single("fear", 1.0))
    with pytest.raises(EditError, match="timed out after 2 s"):
        ed.edit(face, single("shy", 1.0))
    with pytest.raises(EditError, match="command not found"):
        CommandEditor("no-such-tool-xyz {input} {output}").edit(face, single("happy", 1.0))
    with pytest.raises(ValueError, match="must contain"):
        CommandEditor("tool {input}")


def test_http_editor(fake_openai, face):
    fake_openai.reset("good")
    ed = HttpEditor(base_url=fake_openai.base_url, model="fake-edit", timeout=5, backoff=0.01)
    out = ed.edit(face, single("surprised", 0.4))
    assert out.image.shape == face.shape and out.image[100, 100].tolist() == [250, 250, 250]
    path, body = fake_openai.requests[-1]
    assert path.endswith("/images/edits") and body["model"] == "fake-edit"
    assert "surprised" in body["prompt"] and "40%" in body["prompt"]
    assert np.array_equal(load_image(body["image"]), face)  # the source went out losslessly
    fake_openai.reset("good", script=["url"])
    assert ed.edit(face, single("happy", 1.0)).image.shape == face.shape  # answer by URL, fetched
    fake_openai.reset("good", script=["429", "500"])
    assert ed.edit(face, single("happy", 1.0)).image.shape == face.shape
    assert fake_openai.count("images/edits") == 3
    fake_openai.reset("wrong_size")
    assert ed.edit(face, single("happy", 1.0)).image.shape == (128, 128, 3)  # the runner rejects it
    fixed = HttpEditor(base_url=fake_openai.base_url, model="m", resize=True).edit(face, single("happy", 1.0))
    assert fixed.image.shape == face.shape
    fake_openai.reset("malformed")
    with pytest.raises(EditError, match="no data"):
        ed.edit(face, single("happy", 1.0))
    fake_openai.reset("401")
    with pytest.raises(EditError, match="HTTP 401"):
        ed.edit(face, single("happy", 1.0))
    with pytest.raises(EditError, match="one expression at a time"):
        ed.edit(face, ExpressionControl.blend({"happy": 0.5, "sad": 0.5}))


def test_replaced_folder_files_are_not_hidden_by_the_cache(tmp_path, face, fake_openai):
    from facebench.bench import Component, Manifest, Task, run_benchmark

    fake_openai.reset("good")
    src = tmp_path / "src.png"
    Image.fromarray(face).save(src)
    d = tmp_path / "edits" / "t1" / "happy"
    d.mkdir(parents=True)
    Image.fromarray(np.full_like(face, 40)).save(d / "1.png")
    kw = dict(editors=[Component.make("editor", "folder", {"root": str(tmp_path / "edits")})],
              judges=[Component.make("judge", "vlm", {"base_url": fake_openai.base_url, "model": "m"})],
              recognisers=[], store=tmp_path / "c.sqlite", track="general", progress=False)
    m = Manifest([Task("t1", src, "happy", "p")])
    first = run_benchmark(m, **kw)
    assert run_benchmark(m, **kw).stats["edits"].computed == 0
    Image.fromarray(np.full_like(face, 200)).save(d / "1.png")
    again = run_benchmark(m, **kw)
    assert again.stats["edits"].computed == 1
    assert again.results["edited_hash"].iloc[0] != first.results["edited_hash"].iloc[0]
    assert again.results["score_happy"].iloc[0] != first.results["score_happy"].iloc[0]
