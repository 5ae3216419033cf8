"""The ``official`` preset equals, bit for bit, a replay of the authors' inference calls (tiny pipeline).

The replay (:func:`facebench.pixelsmile.reference.official_edit`) calls the stock pipeline the way
``PixelSmile/infer.py`` does; the editor runs its own loop (batched sampler, aligned prompts).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facebench.edit.base import ExpressionControl
from facebench.pixelsmile.editor import PixelSmileEditor
from facebench.pixelsmile.encoding import PromptEncoder
from facebench.pixelsmile.loading import PixelSmileError, load_pipeline
from facebench.pixelsmile.presets import PRESETS
from facebench.pixelsmile.prompts import expression_prompt, neutral_prompt
from facebench.pixelsmile.reference import official_edit

STEPS = 2


@pytest.fixture(scope="module")
def pipe(tiny_model_dir):
    p = load_pipeline(tiny_model_dir, device="cpu", dtype="fp32")
    # the real model's 64 template tokens, counted for the tiny tokenizer (encoding.py explains)
    p.prompt_template_encode_start_idx = PromptEncoder(p).drop_index
    return p


def official_reference(pipe, crop, weights):
    return official_edit(pipe, crop, weights, steps=STEPS)


def test_official_is_the_default_preset():
    import inspect

    assert inspect.signature(PixelSmileEditor).parameters["preset"].default == "official"
    off = PRESETS["official"]
    assert (off.size, off.output_size, off.condition_area, off.generator_device, off.paste_back, off.batch_size,
            off.steps, off.seed) == (512, 1024, None, "pipeline", False, 1, 50, 42)


def test_official_edit_equals_the_official_calls_bit_for_bit(pipe, photo, monkeypatch):
    """At the real 1024 default for one alpha; alphas 0/0.5/1/1.5 and a blend with the pipeline's
    default area scaled down 64 times (output 128^2) to keep the CPU test short."""
    import diffusers.pipelines.qwenimage.pipeline_qwenimage_edit_plus as stock

    editor = PixelSmileEditor(pipeline=pipe, steps=STEPS)  # every other setting from the official preset
    crop = editor.prepare(photo)[1]
    assert crop.shape == (512, 512, 3) and np.array_equal(crop, photo)  # a 512 photo: the crop is the photo
    # the official arithmetic needs prompts of equal length (it subtracts whole sequences)
    assert len(pipe.tokenizer(neutral_prompt())["input_ids"]) == len(pipe.tokenizer(expression_prompt("fear"))["input_ids"])
    full = editor.edit(photo, ExpressionControl.single("fear", 1.5))
    ref = official_reference(pipe, crop, {"fear": 1.5})
    assert ref.shape == (1024, 1024, 3) and full.image.shape == ref.shape  # no height/width: 1024 output
    assert np.array_equal(full.image, ref), f"max difference {np.abs(full.image.astype(int) - ref).max()}"
    assert full.info["output_size"] == 1024 and full.info["preset"] == "official"

    original = stock.calculate_dimensions
    monkeypatch.setattr(stock, "calculate_dimensions", lambda area, ratio: original(area // 64, ratio))
    small = PixelSmileEditor(pipeline=pipe, steps=STEPS, output_size=128)
    results = small.sweep(photo, "fear", [0.0, 0.5, 1.0, 1.5])
    for r in results:
        a = r.control.as_dict()["fear"]
        ref = official_reference(pipe, crop, {"fear": a})
        assert ref.shape == r.image.shape == (128, 128, 3)
        assert np.array_equal(r.image, ref), f"alpha {a}: max difference {np.abs(r.image.astype(int) - ref).max()}"
    assert not np.array_equal(results[0].image, results[3].image)
    mix = small.edit(photo, ExpressionControl.blend({"fear": 0.6, "sad": 0.7}))
    assert np.array_equal(mix.image, official_reference(pipe, crop, {"fear": 0.6, "sad": 0.7}))
    # the noise generator's device is part of the recipe: a CPU generator would differ on CUDA only
    assert small.generator_device == "pipeline"


def test_encoder_sees_the_crop_as_it_is(pipe, photo):
    """The official encoder input is the 512 crop; the processor's own resize decides the tokens."""
    official = PromptEncoder(pipe)
    shrunk = PromptEncoder(pipe, condition_area=28 * 28)
    assert official.condition_image(photo).size == (512, 512)
    assert shrunk.condition_image(photo).size == (32, 32)
    a = official.encode(photo, neutral_prompt()).embeds
    ref, _ = pipe._get_qwen_prompt_embeds(neutral_prompt(), __import__("PIL.Image").Image.fromarray(photo), pipe.device)
    assert torch.equal(a, ref[0])


def test_preset_settings_can_be_overridden_and_bad_ones_fail(pipe, photo):
    ed = PixelSmileEditor(pipeline=pipe, steps=STEPS, size=64, output_size=None, paste_back=True)
    assert ed.output_size == 1024  # None leaves the preset's value
    ed = PixelSmileEditor(pipeline=pipe, preset="facebench", steps=STEPS, size=64, condition_area=56 * 56)
    assert (ed.output_size, ed.generator_device, ed.paste_back, ed.batch_size) == (64, "cpu", True, None)
    out = ed.edit(photo, ExpressionControl.single("fear", 1.0))
    assert out.image.shape == photo.shape  # pasted back
    with pytest.raises(PixelSmileError, match="unknown PixelSmile preset 'paper'"):
        PixelSmileEditor(pipeline=pipe, preset="paper")
    with pytest.raises(PixelSmileError, match="generator_device 'gpu'"):
        PixelSmileEditor(pipeline=pipe, generator_device="gpu")
    with pytest.raises(PixelSmileError, match="output_size 100"):
        PixelSmileEditor(pipeline=pipe, output_size=100)


def test_negative_alphas_move_past_neutral(pipe, photo, tmp_path, tiny_model_dir, capsys):
    """The method allows any real alpha: a < 0 is e_neu - |a| (e_tgt - e_neu) (editor and command line)."""
    from facebench.cli import main
    from facebench.pixelsmile.tiny import TINY_OPTIONS
    from facebench.samples import astronaut_path

    ed = PixelSmileEditor(pipeline=pipe, **TINY_OPTIONS)
    crop = ed.prepare(photo)[1]
    e, m = ed.conditioning(crop, [{"fear": -0.5}, {"fear": 0.0}, {"fear": 1.0}])
    assert torch.equal(e[0][m[0]], e[1][m[1]] - 0.5 * (e[2][m[2]] - e[1][m[1]]))
    (neg, info), (pos, _) = ed.edit_weights(photo, [{"fear": -0.5}, {"fear": 0.5}])
    assert info["weights"] == {"fear": -0.5} and neg.shape == photo.shape and not np.array_equal(neg, pos)
    with pytest.raises(PixelSmileError, match="alpha -4.0 for 'fear' is out of range"):
        ed.edit_weights(photo, [{"fear": -4}])
    common = ["--model", str(tiny_model_dir), "--size", "64", "--output-size", "64", "--steps", "2",
              "--device", "cpu", "-o", str(tmp_path)]
    assert main(["pixelsmile", "sweep", str(astronaut_path()), "--expression", "fear", "--alphas=-0.5,1",
                 *common]) == 0
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["astronaut_fear=-0.5.png", "astronaut_fear=1.png"]
    assert main(["pixelsmile", "edit", str(astronaut_path()), "--expression", "fear", "--alpha=-3.5", *common]) == 2
    assert "alpha -3.5 for 'fear' is out of range [-3, 3]" in capsys.readouterr().err
