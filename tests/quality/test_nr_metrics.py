"""NIQE / BRISQUE / PIQE equal the packages whose parameters (or rules) they use, on the same images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import scipy.misc
from PIL import Image

from facebench.quality import compute
from facebench.quality.nr_niqe import rgb_to_luma255


@pytest.fixture(scope="module")
def images(astronaut):
    rng = np.random.default_rng(1)
    return {
        "original": astronaut,
        "blur": cv2.GaussianBlur(astronaut, (0, 0), 2),
        "noise": np.clip(astronaut + rng.normal(0, 12, astronaut.shape), 0, 255).astype(np.uint8),
        "jpeg": cv2.imdecode(cv2.imencode(".jpg", astronaut, [cv2.IMWRITE_JPEG_QUALITY, 15])[1], cv2.IMREAD_UNCHANGED),
        "odd": np.ascontiguousarray(astronaut[:301, :257]),
    }


def test_brisque_equals_package(images):
    from brisque import BRISQUE

    ref = BRISQUE(url=False)
    for name, img in images.items():
        assert compute("brisque", [img])[0] == pytest.approx(ref.score(img), abs=1e-6), name


def test_piqe_equals_pypiqe(images):
    from pypiqe import piqe

    for name, img in images.items():
        # pypiqe converts with OpenCV's BGR2GRAY, so it is given the image in OpenCV's channel order
        expected = piqe(np.ascontiguousarray(img[..., ::-1]))[0]
        assert compute("piqe", [img])[0] == pytest.approx(expected, abs=1e-9), name


def _imresize(arr, size, interp="bicubic", mode=None):
    """What scipy.misc.imresize (removed in SciPy 1.3) did for a float image with mode 'F':
    a Pillow bicubic resize to int(size * shape)."""
    im = Image.fromarray(arr, mode="F")
    w, h = (np.array(im.size) * size).astype(int)
    return np.asarray(im.resize((int(w), int(h)), Image.BICUBIC))


def test_niqe_equals_scikit_video(images, monkeypatch):
    # scikit-video 1.1.11 predates NumPy 2 and SciPy 1.3: give it back the two names it uses.
    monkeypatch.setattr(np, "int", int, raising=False)
    monkeypatch.setattr(scipy.misc, "imresize", _imresize, raising=False)
    import skvideo.measure

    for name, img in images.items():
        if min(img.shape[:2]) < 194:
            with pytest.raises(ValueError, match="NIQE needs images of at least 194x194"):
                compute("niqe", [img])
            continue
        expected = float(skvideo.measure.niqe(rgb_to_luma255(img))[0])
        # float32 rounding in scikit-video's tabulated fit can move one shape parameter by one grid step
        assert compute("niqe", [img])[0] == pytest.approx(expected, rel=1e-3), name


def test_brisque_svr_is_read_from_package():
    from facebench.quality.nr_brisque import shipped_model

    m = shipped_model()
    assert m.sv.shape == (770, 36) and m.gamma == pytest.approx(0.05) and m.rho == pytest.approx(-155.845)
