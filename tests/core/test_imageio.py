"""The one image loader: formats, EXIF orientation, bit depths and modes, limits, errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from facebench.base.imageio import ImageError, image_hash, list_images, load_image
from facebench.samples import astronaut_path


@pytest.fixture(scope="module")
def astro() -> np.ndarray:
    return load_image(astronaut_path())


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_astronaut_is_rgb_uint8(astro):
    assert astro.shape == (512, 512, 3) and astro.dtype == np.uint8


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "AVIF", "TIFF", "BMP"])
def test_formats_round_trip(tmp_path, astro, fmt):
    lossless = fmt in ("PNG", "TIFF", "BMP")
    kw = {"lossless": True} if fmt == "WEBP" else {}
    path = tmp_path / f"a.{fmt.lower()}"
    path.write_bytes(_save(Image.fromarray(astro), fmt, **kw))
    out = load_image(path)
    assert out.shape == astro.shape and out.dtype == np.uint8
    err = np.abs(out.astype(int) - astro.astype(int)).mean()
    assert err == 0 if (lossless or fmt == "WEBP") else err < 8


def test_exif_orientation_applied(tmp_path, astro):
    small = Image.fromarray(astro[:, :256])  # 512 high, 256 wide
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    path = tmp_path / "rot.jpg"
    small.save(path, exif=exif.tobytes())
    out = load_image(path)
    assert out.shape == (256, 512, 3)


def test_modes_converted(astro):
    gray = Image.fromarray(astro[:, :, 0])
    assert load_image(gray).shape == (512, 512, 3)
    pal = Image.fromarray(astro).convert("P")
    assert load_image(pal).shape == (512, 512, 3)
    rgba = np.dstack([astro, np.zeros(astro.shape[:2], np.uint8)])
    out = load_image(Image.fromarray(rgba, "RGBA"))
    assert (out == 255).all(), "fully transparent pixels composite on white"
    g16 = (astro[:, :, 1].astype(np.uint16) * 257)
    out16 = load_image(Image.frombytes("I;16", (512, 512), g16.astype("<u2").tobytes()))
    assert np.abs(out16[:, :, 0].astype(int) - astro[:, :, 1]).max() <= 1
    assert load_image(g16).shape == (512, 512, 3)
    assert load_image(astro.astype(np.float32) / 255.0)[10, 10, 0] == astro[10, 10, 0]


def test_tiff_16bit_rgb(tmp_path, astro):
    path = tmp_path / "a16.tif"
    import tifffile

    tifffile.imwrite(path, astro.astype(np.uint16) * 257)
    out = load_image(path)
    assert np.abs(out.astype(int) - astro).max() <= 1


@pytest.mark.parametrize(
    "content, problem",
    [(b"", "empty file"), (b"hello, not an image", "not an image")],
)
def test_bad_bytes(tmp_path, content, problem):
    p = tmp_path / "bad.jpg"
    p.write_bytes(content)
    with pytest.raises(ImageError) as ei:
        load_image(p)
    assert str(ei.value).startswith(str(p)) and problem in str(ei.value)
    assert "\n" not in str(ei.value)


def test_truncated(tmp_path, astro):
    data = _save(Image.fromarray(astro), "PNG")
    p = tmp_path / "cut.png"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cut.png: "):
        load_image(p)


def test_missing_and_folder(tmp_path):
    with pytest.raises(ImageError, match="file not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="is a folder"):
        load_image(tmp_path)


def test_pixel_limit(tmp_path, astro):
    p = tmp_path / "big.png"
    Image.fromarray(astro).save(p)
    with pytest.raises(ImageError, match="over the limit"):
        load_image(p, max_pixels=100_000)


def test_hash_and_listing(tmp_path, astro):
    assert image_hash(astro) == image_hash(astro.copy())
    assert image_hash(astro) != image_hash(astro[::-1])
    (tmp_path / "sub").mkdir()
    Image.fromarray(astro).save(tmp_path / "sub" / "x.png")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in list_images([tmp_path])] == ["x.png"]
