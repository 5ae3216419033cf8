"""Images over the pixel bound are scored on a shrunk copy (documented in facebench.quality.scoring);
the figure on a 7900x7900 image is printed by benchmarks/bench_quality_memory.py."""

from __future__ import annotations

import numpy as np
from PIL import Image

from facebench.quality import compute
from facebench.quality.scoring import SCORE_MAX_PIXELS, Pair, bound_pixels, score_pairs


def test_bound_keeps_aspect_and_leaves_small_images_alone(astronaut):
    big = np.asarray(Image.fromarray(astronaut).resize((1200, 800)))
    small = bound_pixels(big, 120_000)
    assert small.shape == (282, 424, 3)  # s = sqrt(120000 / 960000); int(s * 1200), int(s * 800)
    assert small.shape[0] * small.shape[1] <= 120_000
    assert bound_pixels(big, None) is big and bound_pixels(big, 960_000) is big
    assert SCORE_MAX_PIXELS == 2048 * 2048


def test_scores_of_a_big_image_are_those_of_its_bounded_copy(astronaut, tmp_path, capsys):
    big = np.asarray(Image.fromarray(astronaut).resize((1200, 800)))
    ref = np.asarray(Image.fromarray(astronaut).resize((1200, 800), Image.BILINEAR))
    Image.fromarray(big).save(tmp_path / "big.png")
    Image.fromarray(ref).save(tmp_path / "ref.png")
    table = score_pairs([Pair(str(tmp_path / "big.png"), str(tmp_path / "ref.png"))], ["brisque", "ssim"],
                        progress=False, max_pixels=120_000)
    assert (table["error"] == "").all()
    want_b = compute("brisque", [bound_pixels(big, 120_000)])[0]
    want_s = compute("ssim", [bound_pixels(big, 120_000)], [bound_pixels(ref, 120_000)])[0]
    got = dict(zip(table["metric"], table["value"]))
    assert np.isclose(got["brisque"], want_b) and np.isclose(got["ssim"], want_s)
    said = capsys.readouterr()
    assert "big.png: 1200x800 scored at 424x282" in said.out + said.err
    full = score_pairs([Pair(str(tmp_path / "big.png"))], ["brisque"], progress=False, max_pixels=None)
    assert not np.isclose(full["value"].iloc[0], want_b)  # the bound really changed what was scored
