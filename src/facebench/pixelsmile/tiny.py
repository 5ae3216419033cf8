"""A tiny, randomly initialised Qwen-Image-Edit-Plus pipeline built from configs (nothing downloaded).

It has the real classes of diffusers' ``QwenImageEditPlusPipeline`` (Qwen2.5-VL text encoder with a
vision tower, ``QwenImageTransformer2DModel`` in its 2511 ``zero_cond_t`` form, the Qwen-Image VAE,
the flow-matching Euler scheduler with dynamic shifting) at toy sizes, plus a byte-level BPE
tokenizer trained in milliseconds on a few sentences with Qwen2's pre-tokenisation and Qwen's
special tokens. Tests, the CPU benchmark and the GPU smoke script use it; it produces noise-like
images, not faces -- its purpose is to run every code path of the real pipeline quickly.

Sizes follow ``../shared/notes/pixelsmile-method.md`` (text hidden 64, 2 layers; vision hidden 32,
patch 14, merge 2; transformer 2 layers x 4 heads x 16; VAE base_dim 8, z_dim 4, scale 8).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .processor import make_processor

#: Qwen's special tokens (chat template, vision placeholders) in the order the tiny vocab gets them.
SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
)

#: Training text for the tiny BPE: the pipeline's system prompt, the picture prefix and the prompts.
_CORPUS_EXTRA = (
    "Picture 1: ",
    "Edit the person to show a neutral expression",
    "Edit the character to show a surprised expression",
    "happy sad angry fear surprised disgust confused contempt confident shy sleepy anxious",
    "user assistant system",
    # makes "neutral", "sad", "fear", "shy" and "surprised" one token each (as in the real tokenizer)
    # while "happy" and others stay several: tests need prompts of equal and of unequal lengths
    "a neutral, a fear, a sad, a shy, a neutral fear expression",
)


def train_tiny_tokenizer(system_prompt: str, *, vocab_size: int = 400) -> Any:
    """A ``Qwen2Tokenizer`` whose byte-level BPE was trained on the pipeline prompts (milliseconds).

    Uses the same pre-tokeniser as Qwen2 (``Qwen2Tokenizer`` installs it), so words split as in the
    real tokenizer; expression words may take one or several tokens, which is what the prompt
    alignment must handle.
    """
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator([system_prompt, *_CORPUS_EXTRA], trainer=trainer)
    state = json.loads(tok.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in state["merges"]]
    qtok = Qwen2Tokenizer(vocab=dict(state["vocab"]), merges=merges)
    qtok.add_special_tokens({"additional_special_tokens": list(SPECIAL_TOKENS[1:])})
    return qtok


def build_tiny_pipeline(seed: int = 0, *, text_hidden: int = 64, transformer_layers: int = 2,
                        transformer_heads: int = 4, head_dim: int = 16) -> Any:
    """Build the tiny ``QwenImageEditPlusPipeline`` (random weights from ``seed``) on the CPU in fp32.

    The transformer's sizes can be raised (layers, heads, head_dim) for GPU timings closer to real use.
    """
    import torch
    from diffusers import (AutoencoderKLQwenImage, FlowMatchEulerDiscreteScheduler,
                           QwenImageEditPlusPipeline, QwenImageTransformer2DModel)
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    template = QwenImageEditPlusPipeline(None, None, None, None, None, None).prompt_template_encode
    tokenizer = train_tiny_tokenizer(template)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    heads, kv, layers = 4, 2, 2
    head_dim = text_hidden // heads
    cfg = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=len(tokenizer), hidden_size=text_hidden, intermediate_size=2 * text_hidden,
            num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                             "mrope_section": _mrope_section(head_dim)},
            max_position_embeddings=4096, tie_word_embeddings=False,
            bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
        ),
        vision_config=dict(
            depth=2, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=14,
            spatial_merge_size=2, temporal_patch_size=2, out_hidden_size=text_hidden,
            fullatt_block_indexes=[1], window_size=56, in_channels=3,
        ),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
    )
    torch.manual_seed(seed)
    text_encoder = Qwen2_5_VLForConditionalGeneration(cfg).eval()
    torch.manual_seed(seed + 1)
    transformer = QwenImageTransformer2DModel(
        patch_size=2, in_channels=16, out_channels=4, num_layers=transformer_layers, attention_head_dim=head_dim,
        num_attention_heads=transformer_heads, joint_attention_dim=text_hidden, guidance_embeds=False,
        axes_dims_rope=_rope_axes(head_dim), zero_cond_t=True,
    ).eval()
    torch.manual_seed(seed + 2)
    vae = AutoencoderKLQwenImage(
        base_dim=8, z_dim=4, dim_mult=[1, 2, 2, 2], num_res_blocks=1, temperal_downsample=[False, True, True],
        latents_mean=[0.0] * 4, latents_std=[1.0] * 4,
    ).eval()
    scheduler = FlowMatchEulerDiscreteScheduler(
        num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=0.9,
        base_image_seq_len=256, max_image_seq_len=8192, shift_terminal=0.02, time_shift_type="exponential",
    )
    pipe = QwenImageEditPlusPipeline(
        scheduler=scheduler, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        processor=make_processor(tokenizer, min_pixels=28 * 28, max_pixels=56 * 56), transformer=transformer,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


#: Small internal sizes for the tiny pipeline (``facebench`` preset): the VL encoder sees a 56x56
#: image (4 merged tokens), the VAE works at 64x64 (4x4 latent tokens after packing).
TINY_OPTIONS: dict[str, Any] = {"preset": "facebench", "size": 64, "condition_area": 56 * 56, "steps": 2}


def _rope_axes(head_dim: int) -> tuple[int, int, int]:
    """(frame, height, width) rotary dims summing to ``head_dim``, even, in Qwen-Image's 1:3.5:3.5 ratio."""
    hw = head_dim * 7 // 16 // 2 * 2
    return head_dim - 2 * hw, hw, hw


def _mrope_section(head_dim: int) -> list[int]:
    """Split ``head_dim / 2`` rotary pairs over (time, height, width) as Qwen2.5-VL does (1:1.5:1.5)."""
    half = head_dim // 2
    t = max(1, half // 4)
    h = (half - t) // 2
    return [t, h, half - t - h]


def save_tiny_pipeline(pipe: Any, path: str | Path) -> Path:
    """Save the tiny pipeline as a diffusers folder (reload with :func:`facebench.pixelsmile.loading.load_pipeline`)."""
    path = Path(path)
    pipe.save_pretrained(path)
    # Record the stock processor class, as real Qwen-Image-Edit folders do; the loader passes the
    # image-only subclass itself (facebench.pixelsmile.processor).
    index = path / "model_index.json"
    meta = json.loads(index.read_text())
    meta["processor"] = ["transformers", "Qwen2VLProcessor"]
    index.write_text(json.dumps(meta, indent=2))
    return path
