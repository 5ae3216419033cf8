"""The pixelsmile editor through the real diffusers / transformers classes on a tiny random pipeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facebench.edit.base import Editor, ExpressionControl, get_editor
from facebench.pixelsmile.conditioning import align, combine, compact
from facebench.pixelsmile.loading import PixelSmileError
from facebench.pixelsmile.prompts import expression_prompt, neutral_prompt
from facebench.pixelsmile.sampler import sample
from facebench.pixelsmile.tiny import TINY_OPTIONS

ALPHAS = [0.0, 0.5, 1.0, 1.5]


@pytest.fixture(scope="module")
def editor(tiny_model_dir):
    """The registered editor, loading the saved tiny pipeline from its folder."""
    return get_editor("pixelsmile", model=str(tiny_model_dir), device="cpu", dtype="fp32", **TINY_OPTIONS)


@pytest.fixture(scope="module")
def crop(editor, photo):
    return editor.prepare(photo)[1]


def test_edit_blend_and_sweep_run_end_to_end(editor, photo):
    assert isinstance(editor, Editor)
    res = editor.edit(photo, ExpressionControl.single("happy", 1.0))
    assert res.image.shape == photo.shape and res.image.dtype == np.uint8 and res.editor == "pixelsmile"
    assert res.info["crop_box"] == (0, 0, 512, 512) and res.info["steps"] == TINY_OPTIONS["steps"]
    assert not np.array_equal(res.image, photo)  # the pipeline's output replaced the input
    mix = editor.edit(photo, ExpressionControl.blend({"happy": 0.5, "surprised": 0.5}))
    assert mix.image.shape == photo.shape and not np.array_equal(mix.image, res.image)
    sweep = editor.sweep(photo, "happy", ALPHAS)
    assert [r.control.as_dict()["happy"] for r in sweep] == ALPHAS
    assert all(r.info["batch_rows"] == len(ALPHAS) for r in sweep)
    # a non-square input: the centre square is edited and pasted back, the rest is untouched
    wide = np.ascontiguousarray(photo[100:400])
    out = editor.edit(wide, ExpressionControl.single("sad", 0.7)).image
    assert out.shape == wide.shape and np.array_equal(out[:, :106], wide[:, :106])


def test_prompts_are_encoded_once_per_image_and_expression(editor, crop):
    editor.encoder.clear()
    editor.encoder.calls = 0
    editor.conditioning(crop, [ExpressionControl.single("angry", a) for a in (0.0, 1.0)])
    assert editor.encoder.calls == 2  # neutral + angry, each encoded with the image
    editor.conditioning(crop, [ExpressionControl.single("angry", a) for a in (0.3, 0.6, 0.9)])
    assert editor.encoder.calls == 2
    editor.conditioning(crop, [ExpressionControl.blend({"angry": 0.5, "sad": 0.5})])
    assert editor.encoder.calls == 3  # only the new expression
    editor.conditioning(crop[::-1].copy(), [ExpressionControl.single("angry", 0.2)])
    assert editor.encoder.calls == 5  # another image: its own encodings


def test_conditioning_is_linear_on_real_encodings_of_unequal_length(editor, crop):
    neu = editor.encoder.encode(crop, neutral_prompt())
    tgt = editor.encoder.encode(crop, expression_prompt("happy"))
    assert len(neu.token_ids) != len(tgt.token_ids)  # "neutral" and "happy" take different token counts
    al = align([neu, tgt])
    e, m = combine(al, [[0.0], [0.5], [1.0]])
    assert torch.allclose(e[1], (al.embeds[0] + al.embeds[1]) / 2, atol=1e-6)
    e0, m0 = compact(e[:1], m[:1])
    e1, m1 = compact(e[2:], m[2:])
    assert torch.equal(e0[0][m0[0]], neu.embeds)
    assert torch.allclose(e1[0][m1[0]], tgt.embeds, atol=1e-6)
    # the image tokens and the shared words come first and are identical in both prompts
    assert al.prefix > 4 and torch.equal(neu.token_ids[: al.prefix], tgt.token_ids[: al.prefix])


def test_image_tokens_get_3d_rotary_positions(editor, crop):
    from facebench.pixelsmile.encoding import PromptEncoder

    plain = PromptEncoder(editor.pipe, condition_area=TINY_OPTIONS["condition_area"], mm_token_types=False)
    prompt = expression_prompt("happy")
    ours = plain.encode(crop, prompt).embeds
    editor.pipe.prompt_template_encode_start_idx = plain.drop_index
    stock, _ = editor.pipe.encode_prompt(prompt=prompt, image=[plain.condition_image(crop)])
    assert torch.equal(ours, stock[0].detach())  # without the token types: diffusers' own encoding
    with_types = editor.encoder.encode(crop, prompt).embeds
    assert with_types.shape == ours.shape and not torch.allclose(with_types, ours, atol=1e-4)


def test_one_row_equals_the_stock_pipeline_call(editor, crop, monkeypatch):
    import diffusers.pipelines.qwenimage.pipeline_qwenimage_edit_plus as stock_module
    from PIL import Image

    from facebench.pixelsmile.encoding import PromptEncoder

    size = TINY_OPTIONS["size"]
    monkeypatch.setattr(stock_module, "CONDITION_IMAGE_SIZE", TINY_OPTIONS["condition_area"])
    monkeypatch.setattr(stock_module, "VAE_IMAGE_SIZE", size * size)
    plain = PromptEncoder(editor.pipe, condition_area=TINY_OPTIONS["condition_area"], mm_token_types=False)
    monkeypatch.setattr(editor.pipe, "prompt_template_encode_start_idx", plain.drop_index)
    prompt = expression_prompt("surprised")
    enc = plain.encode(crop, prompt)
    ours = sample(editor.pipe, crop, enc.embeds[None], torch.ones(1, len(enc.embeds), dtype=torch.bool),
                  steps=2, seed=7, output="float")[0]
    ref = editor.pipe(image=Image.fromarray(crop), prompt=prompt, num_inference_steps=2, height=size, width=size,
                      true_cfg_scale=1.0, generator=torch.Generator().manual_seed(7), output_type="pt").images[0]
    assert torch.allclose((ours + 1) / 2, ref, atol=1e-5)


def test_batched_sweep_equals_separate_calls(editor, photo, crop):
    controls = [ExpressionControl.single("happy", a) for a in ALPHAS]
    embeds, mask = editor.conditioning(crop, controls)
    assert len(set(mask.sum(1).tolist())) > 1  # rows of different lengths share the batch
    batched = sample(editor.pipe, crop, embeds, mask, steps=2, seed=42, output="float")
    for r in range(len(controls)):
        e, m = editor.conditioning(crop, controls[r:r + 1])
        alone = sample(editor.pipe, crop, e, m, steps=2, seed=42, output="float")[0]
        assert torch.allclose(batched[r], alone, atol=1e-5)
    assert not torch.allclose(batched[0], batched[2], atol=1e-3)  # alpha changes the image
    sweep = editor.sweep(photo, "happy", ALPHAS[1:3])
    for r, a in zip(sweep, ALPHAS[1:3]):
        single = editor.edit(photo, ExpressionControl.single("happy", a))
        assert np.abs(single.image.astype(int) - r.image.astype(int)).max() <= 1


def test_guidance_batch_matches_separate_calls(editor, crop):
    neg = editor.encoder.encode(crop, " ")
    negative = (neg.embeds[None], torch.ones(1, len(neg.embeds), dtype=torch.bool))
    embeds, mask = editor.conditioning(crop, [ExpressionControl.single("sad", a) for a in (0.5, 1.0)])
    both = sample(editor.pipe, crop, embeds, mask, steps=2, seed=1, true_cfg_scale=4.0, negative=negative,
                  output="float")
    one = sample(editor.pipe, crop, embeds[1:], mask[1:], steps=2, seed=1, true_cfg_scale=4.0, negative=negative,
                 output="float")[0]
    plain = sample(editor.pipe, crop, embeds[1:], mask[1:], steps=2, seed=1, output="float")[0]
    assert torch.allclose(both[1], one, atol=1e-5) and not torch.allclose(one, plain, atol=1e-4)


def test_bad_inputs_fail_with_one_line(editor, photo, tiny_model_dir, tmp_path):
    from safetensors.torch import save_file

    with pytest.raises(ValueError, match="unknown expression 'grumpy'"):
        editor.edit(photo, ExpressionControl.single("grumpy", 1.0))
    with pytest.raises(ValueError, match=r"out of range \[0, 3\]"):
        editor.sweep(photo, "happy", [0.0, 4.0])
    with pytest.raises(PixelSmileError, match="model path .* does not exist"):
        get_editor("pixelsmile", model=str(tmp_path / "missing"))
    with pytest.raises(PixelSmileError, match="steps 1 must be at least 2"):
        get_editor("pixelsmile", pipeline=editor.pipe, steps=1)
    with pytest.raises(PixelSmileError, match="needs model=PATH"):
        get_editor("pixelsmile")
    with pytest.raises(PixelSmileError, match="LoRA path .* does not exist"):
        get_editor("pixelsmile", pipeline=editor.pipe, lora=str(tmp_path / "none.safetensors"), **TINY_OPTIONS)
    # a LoRA made for a wider transformer (e.g. the real 3072-wide one) does not fit the tiny one
    bad = tmp_path / "wide.safetensors"
    save_file({"transformer.transformer_blocks.0.attn.to_q.lora_A.weight": torch.zeros(4, 3072),
               "transformer.transformer_blocks.0.attn.to_q.lora_B.weight": torch.zeros(3072, 4)}, str(bad))
    with pytest.raises(PixelSmileError, match=r"does not match the transformer: layer 'transformer_blocks.0.attn.to_q' "
                                              r"has in_features 64 but the LoRA has 3072"):
        get_editor("pixelsmile", pipeline=editor.pipe, lora=str(bad), **TINY_OPTIONS)
    if not torch.cuda.is_available():
        with pytest.raises(PixelSmileError, match="sees no CUDA GPU"):
            get_editor("pixelsmile", model=str(tiny_model_dir), device="cuda")


def test_command_line_sweep_and_errors(tiny_model_dir, tmp_path, capsys):
    from facebench.cli import main
    from facebench.samples import astronaut_path

    common = ["--model", str(tiny_model_dir), "--size", "64", "--output-size", "64", "--steps", "2",
              "--condition-area", "3136", "--device", "cpu", "-o", str(tmp_path)]
    missing = str(tmp_path / "missing.png")
    assert main(["pixelsmile", "sweep", str(astronaut_path()), missing, "--expression", "happy",
                 "--alphas", "0,1", *common]) == 1
    out, err = capsys.readouterr()
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["astronaut_happy=0.png", "astronaut_happy=1.png"]
    from PIL import Image

    assert Image.open(tmp_path / "astronaut_happy=1.png").size == (64, 64)  # official: the square, not pasted back
    assert main(["pixelsmile", "edit", str(astronaut_path()), "--expression", "sad", "--preset", "facebench",
                 "--output", str(tmp_path / "fb"), *common[:-2]]) == 0
    assert Image.open(tmp_path / "fb" / "astronaut_sad=1.png").size == (512, 512)  # facebench: pasted back
    assert err.strip().splitlines()[-1] == f"failed: {missing}: {missing}: file not found"  # the other image ran
    assert main(["pixelsmile", "edit", str(astronaut_path()), "--expression", "grumpy", *common]) == 2
    assert "unknown expression 'grumpy'" in capsys.readouterr().err
    assert main(["pixelsmile", "edit", str(astronaut_path()), "--blend", "happy=5", *common]) == 2
    assert "out of range" in capsys.readouterr().err
