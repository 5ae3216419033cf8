"""Degradation pipelines: reproducible by seed, parameters recorded and replayable, the paper's
probabilities and choices, kernel properties, and the `facebench degrade` command."""

from __future__ import annotations

import json
import math
from collections import Counter

import cv2
import numpy as np
import pytest

from facebench.cli import main
from facebench.base.imageio import load_image
from facebench.quality import kernels
from facebench.quality.degrade import (
    FirstOrderConfig,
    apply_ops,
    degrade,
    item_rng,
    sample_first_order,
    sample_second_order,
)


@pytest.fixture(scope="module")
def face(astronaut):
    return cv2.resize(astronaut, (128, 128), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("pipeline", ["first", "second", "mixed"])
def test_reproducible_by_seed_and_replayable(face, pipeline):
    a = degrade(face, pipeline, seed=7, key="x.png#0")
    b = degrade(face, pipeline, seed=7, key="x.png#0")
    assert np.array_equal(a.image, b.image) and a.record == b.record
    others = [degrade(face, pipeline, seed=s, key="x.png#0").image for s in (8, 9, 10)]
    assert any(not np.array_equal(a.image, o) for o in others)
    record = json.loads(json.dumps(a.record))  # what is written beside the output
    assert record["pipeline"] in ("first", "second") and record["seed"] == 7
    assert np.array_equal(apply_ops(face, record["ops"], keep_size=record["keep_size"]), a.image)
    assert a.image.shape == face.shape and a.image.dtype == np.uint8


def test_first_order_probabilities_and_choices():
    cfg = FirstOrderConfig()
    n = 3000
    seen: Counter[str] = Counter()
    blur_kinds: Counter[str] = Counter()
    scales: Counter[float] = Counter()
    interps: Counter[str] = Counter()
    for i in range(n):
        ops = sample_first_order(item_rng(0, str(i)), 512, 512, cfg)
        order = [o["op"] for o in ops]
        assert order == sorted(order, key=["blur", "median", "resize", "noise", "jpeg"].index)  # eq. 4 order
        for o in ops:
            kind = "blur" if o["op"] in ("blur", "median") else o["op"]
            seen[kind] += 1
            if kind == "blur":
                blur_kinds[o.get("kernel", "median")] += 1
            if o["op"] == "resize":
                scales[round(512 / o["height"])] += 1
                interps[o["interpolation"]] += 1
    for kind, p in (("blur", 0.7), ("resize", 1.0), ("noise", 0.2), ("jpeg", 0.7)):
        assert abs(seen[kind] / n - p) < 4 * math.sqrt(p * (1 - p) / n) + 1e-9, (kind, seen[kind] / n)
    assert set(blur_kinds) == {"gaussian", "average", "median", "motion"}
    assert set(scales) == {4, 8, 16}
    assert set(interps) == {"nearest", "linear", "area", "cubic"}


def test_second_order_has_two_stages_and_sinc():
    kinds: Counter[str] = Counter()
    for i in range(300):
        ops = sample_second_order(item_rng(1, str(i)), 512, 512)
        assert sum(o["op"] == "jpeg" for o in ops) == 2 and sum(o["op"] == "noise" for o in ops) == 2
        assert ops[-1]["op"] in ("jpeg", "resize", "blur")
        final = [o for o in ops if o["op"] == "resize"][-1]
        assert (final["height"], final["width"]) == (128, 128)  # back to 1/4 scale before restoring
        kinds.update(o["kernel"] for o in ops if o["op"] == "blur")
    assert kinds["sinc"] > 150 and kinds["gaussian"] > 0 and kinds["generalized"] > 0 and kinds["plateau"] > 0


def test_kernels():
    for k in (kernels.anisotropic(21, 3.0, 1.0, 0.5), kernels.anisotropic(13, 2.0, 2.0, 0.0, "generalized", 2.0),
              kernels.anisotropic(15, 1.5, 0.7, 1.0, "plateau", 1.5), kernels.sinc(21, math.pi / 3),
              kernels.average(5), kernels.motion(9.0, 30.0)):
        assert k.sum() == pytest.approx(1.0) and k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
    iso = kernels.anisotropic(21, 2.0, 2.0, 0.0)
    np.testing.assert_allclose(iso, iso.T, atol=1e-12)
    aniso = kernels.anisotropic(21, 4.0, 1.0, 0.0)
    assert aniso[10, :].sum() > aniso[:, 10].sum()  # wider along x
    # the sinc kernel is a low-pass filter: its spectrum passes DC and cuts high frequencies
    spec = np.abs(np.fft.fft2(kernels.sinc(21, math.pi / 4), s=(64, 64)))
    assert spec[0, 0] == pytest.approx(1.0) and spec[32, 32] < 0.1
    assert kernels.sinc(21, math.pi / 4).min() < 0  # ringing lobes
    with pytest.raises(ValueError, match="odd"):
        kernels.average(4)


def test_cli_degrade_writes_images_and_records(tmp_path, face, capsys):
    src = tmp_path / "hq"
    (src / "sub").mkdir(parents=True)
    cv2.imwrite(str(src / "sub" / "face.png"), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    (src / "bad.png").write_bytes(b"")
    out = tmp_path / "lq"
    assert main(["degrade", str(src), "--out", str(out), "--seed", "3", "--copies", "2"]) == 1
    assert "bad.png: empty file" in capsys.readouterr().err
    for k in (0, 1):
        img = load_image(out / "sub" / f"face_{k}.png")
        record = json.loads((out / "sub" / f"face_{k}.png.json").read_text())
        assert np.array_equal(apply_ops(face, record["ops"]), img)
    again = tmp_path / "lq2"  # the same command again gives the same files
    main(["degrade", str(src), "--out", str(again), "--seed", "3", "--copies", "2"])
    assert np.array_equal(load_image(again / "sub" / "face_1.png"), load_image(out / "sub" / "face_1.png"))
    assert not np.array_equal(load_image(out / "sub" / "face_0.png"), load_image(out / "sub" / "face_1.png"))
