"""Encode PixelSmile prompts *with the input image* through the pipeline's Qwen2.5-VL text encoder.

This follows diffusers' ``QwenImageEditPlusPipeline._get_qwen_prompt_embeds`` (chat template with a
"Picture 1" vision block, last hidden layer, the system-prompt tokens dropped, output in the text
encoder's dtype) -- what the official PixelSmile script gets from ``pipe.encode_prompt`` -- with
these differences:

- optionally (``mm_token_types=True``; off in the ``official`` preset, which reproduces the
  pipeline's call) the processor's ``mm_token_type_ids`` are passed to the text encoder, so the
  image tokens get Qwen2.5-VL's 3-D rotary positions (diffusers 0.42.1 leaves them out, and
  transformers 5 then falls back to sequential positions: upstream diffusers issue #14194;
  transformers 4.x computed 3-D positions without them);
- the image is passed as it is by default (the official script's 512 crop), or resized to about
  ``condition_area`` pixels first (the stock ``__call__``'s 384^2 rule);
- the number of dropped template tokens is counted with the pipeline's own tokenizer (the template
  text before the user's content: system prompt and ``<|im_start|>user\n``), instead of the constant
  64 that holds only for the real Qwen tokenizer (the same count: diffusers' text-to-image Qwen
  pipeline drops 34, the length of its shorter system prompt counted the same way);
- every prompt is encoded alone (batch of one, no padding) and the token ids are kept, so prompts
  can be aligned later (:mod:`facebench.pixelsmile.conditioning`).

Results are cached per (image hash, prompt): a sweep or a benchmark encodes the neutral and each
target prompt once per image.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..base.imageio import image_hash
from .conditioning import PromptEncoding

#: The vision block the pipeline puts before the instruction for one input image.
IMAGE_BLOCK = "Picture 1: <|vision_start|><|image_pad|><|vision_end|>"


def calculate_dimensions(area: int, ratio: float) -> tuple[int, int]:
    """``(width, height)`` of about ``area`` pixels with aspect ``ratio``, multiples of 32 (as the pipeline)."""
    width = (area * ratio) ** 0.5
    height = width / ratio
    return int(round(width / 32) * 32), int(round(height / 32) * 32)


class PromptEncoder:
    """Encodes (image, prompt) pairs with ``pipe``'s processor and text encoder, with a cache."""

    def __init__(self, pipe: Any, *, condition_area: int | None = None, mm_token_types: bool = False,
                 max_cache: int = 256) -> None:
        self.pipe = pipe
        self.condition_area = None if condition_area is None else int(condition_area)
        self.mm_token_types = bool(mm_token_types)
        self.max_cache = int(max_cache)
        self._cache: dict[tuple[Any, ...], PromptEncoding] = {}
        self.calls = 0  # text-encoder forward passes (tests check the cache with it)

    @property
    def drop_index(self) -> int:
        """Tokens of the template before the user's content (system prompt + ``<|im_start|>user\\n``)."""
        prefix = self.pipe.prompt_template_encode.split("{}")[0]
        return len(self.pipe.tokenizer(prefix, add_special_tokens=False)["input_ids"])

    def condition_image(self, image: np.ndarray) -> Any:
        """The PIL image the VL encoder sees: the image as it is (``condition_area`` None, as the official
        script passes its 512 crop; the processor's own resize then gives 504^2, 324 tokens), or resized
        to about ``condition_area`` pixels (the stock ``__call__``'s rule, 384^2)."""
        from PIL import Image

        pil = Image.fromarray(image)
        if self.condition_area is None:
            return pil
        w, h = calculate_dimensions(self.condition_area, pil.width / pil.height)
        return self.pipe.image_processor.resize(pil, h, w)

    @torch.no_grad()
    def encode(self, image: np.ndarray, prompt: str) -> PromptEncoding:
        """The encoding of ``prompt`` with ``image`` (RGB uint8), from the cache when possible."""
        key = (image_hash(image), prompt, self.mm_token_types, self.condition_area)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        pipe = self.pipe
        text = pipe.prompt_template_encode.format(IMAGE_BLOCK + prompt)
        inputs = pipe.processor(text=[text], images=[self.condition_image(image)], padding=True,
                                return_tensors="pt")
        device = pipe.text_encoder.device
        inputs = {k: v.to(device) if hasattr(v, "to") else v for k, v in inputs.items()}
        extra = {}
        if self.mm_token_types and "mm_token_type_ids" in inputs:
            extra["mm_token_type_ids"] = inputs["mm_token_type_ids"]
        out = pipe.text_encoder(
            input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
            pixel_values=inputs.get("pixel_values"), image_grid_thw=inputs.get("image_grid_thw"),
            output_hidden_states=True, **extra,
        )
        self.calls += 1
        drop = self.drop_index
        hidden = out.hidden_states[-1][0][inputs["attention_mask"][0].bool()]
        ids = inputs["input_ids"][0][inputs["attention_mask"][0].bool()]
        enc = PromptEncoding(hidden[drop:].to(pipe.text_encoder.dtype), ids[drop:].cpu())  # the pipeline's dtype
        if len(self._cache) >= self.max_cache:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = enc
        return enc

    def clear(self) -> None:
        """Forget every cached encoding."""
        self._cache.clear()
