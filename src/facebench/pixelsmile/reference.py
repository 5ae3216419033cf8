"""A replay of the official PixelSmile inference calls, to check the ``official`` preset against.

It does, with a loaded ``QwenImageEditPlusPipeline``, what the authors' ``PixelSmile/infer.py`` with
``linear_conditioning.py`` (method ``score_one_all``) does for one crop: encode the neutral and the
target prompt with ``pipe.encode_prompt`` and the crop as it is, ``e = e_neu + a (e_tgt - e_neu)``
(a blend adds one such term per expression, in the order given) with the target's mask, then call
``pipe(image=crop, prompt_embeds=e, prompt_embeds_mask=mask, num_inference_steps=steps,
true_cfg_scale=0, generator=torch.Generator(device=pipe.device).manual_seed(seed))`` without height
or width. The official install patches diffusers so that ``encode_prompt`` keeps an all-ones mask
(``scripts/patch_qwen_diffusers.sh``); :func:`kept_mask` does the same on the pipeline object for
the duration of a call (site-packages is never edited). Used by the tests and the GPU smoke script;
the editor never calls it.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Mapping

import numpy as np
import torch

from .prompts import expression_prompt, neutral_prompt


@contextlib.contextmanager
def kept_mask(pipe: Any) -> Iterator[Any]:
    """``pipe.encode_prompt`` as the official install patches it (an all-ones mask is not dropped)."""

    def encode_prompt(prompt: Any = None, image: Any = None, device: Any = None, num_images_per_prompt: int = 1,
                      prompt_embeds: Any = None, prompt_embeds_mask: Any = None,
                      max_sequence_length: int = 1024) -> tuple[Any, Any]:
        if num_images_per_prompt != 1:
            raise ValueError("the replay supports one image per prompt")
        if prompt_embeds is None:
            prompt_embeds, prompt_embeds_mask = pipe._get_qwen_prompt_embeds(prompt, image, device)
        return prompt_embeds, prompt_embeds_mask

    pipe.encode_prompt = encode_prompt
    try:
        yield pipe
    finally:
        del pipe.encode_prompt  # the class's method again


@torch.no_grad()
def official_edit(pipe: Any, crop: np.ndarray, weights: Mapping[str, float], *, subject: str = "person",
                  steps: int = 50, seed: int = 42) -> np.ndarray:
    """The official script's result (RGB uint8) for ``crop`` and ``{expression: alpha}`` (see the module docstring)."""
    from PIL import Image

    image = Image.fromarray(crop)
    with kept_mask(pipe):
        e_neu, _ = pipe.encode_prompt(prompt=neutral_prompt(subject), image=image, device=pipe.device,
                                      num_images_per_prompt=1, max_sequence_length=1024)
        embeds, mask = e_neu, None
        for expression, alpha in weights.items():
            e_tgt, mask = pipe.encode_prompt(prompt=expression_prompt(expression, subject), image=image,
                                             device=pipe.device, num_images_per_prompt=1, max_sequence_length=1024)
            embeds = embeds + alpha * (e_tgt - e_neu)
        generator = torch.Generator(device=pipe.device).manual_seed(seed)
        out = pipe(image=image, prompt_embeds=embeds, prompt_embeds_mask=mask, num_inference_steps=steps,
                   true_cfg_scale=0, output_type="pil", generator=generator).images[0]
    return np.asarray(out)
