"""Named sets of editor settings: ``official`` (the default) and ``facebench``.

``official`` repeats what the authors' inference script (Ammmob/PixelSmile, ``PixelSmile/infer.py``
with ``linear_conditioning.py``, method ``score_one_all``) does, point by point:

- the input is centre-cropped and resized to 512 x 512 (``size``; the official ``utils/image.py``
  resize in "crop" mode is not in the public copy read for this port, so for inputs that are not
  already 512 x 512 the exact crop and resampling filter (here: centre square, Lanczos) may differ);
- the neutral and the target prompt are encoded by the pipeline's ``encode_prompt`` with that 512
  crop as it is (``condition_area=None``: the VL processor's own resize makes it 504^2, 324 image
  tokens), in the text encoder's dtype, without the processor's token types
  (``mm_token_types=False``, as ``encode_prompt`` calls the encoder);
- ``e(a) = e_neu + a (e_tgt - e_neu)`` with the target's mask (all ones: the official install
  patches diffusers so that this mask is not dropped);
- the pipeline is called without height/width, so the output is 1024 x 1024 (``output_size``) and
  the control image is the 512 crop upsampled by the pipeline's image processor;
- 50 steps, no classifier-free guidance (``true_cfg_scale=0``), a generator seeded with 42 on the
  pipeline's device (``generator_device="pipeline"``), one call per alpha (``batch_size=1``);
- the edited square is returned as it is (``paste_back=False``).

``facebench`` is this package's earlier behaviour: the encoder sees the crop shrunk to 384^2 with
3-D rotary positions for image tokens, the output is denoised at the crop size, noise from a CPU
generator, a sweep in one batch, the edited crop pasted back into the photo.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class EditorPreset:
    """Every editor setting a preset fixes (each can still be overridden one by one)."""

    size: int
    output_size: int | None  # None: the crop size
    condition_area: int | None  # None: the crop as it is
    mm_token_types: bool
    generator_device: str  # "pipeline" | "cpu"
    batch_size: int | None  # None: a whole sweep in one batch
    paste_back: bool
    steps: int = 50
    seed: int = 42
    true_cfg_scale: float = 1.0  # <= 1: off (the official script passes 0)

    def as_dict(self) -> dict[str, Any]:
        """The settings as keyword arguments of :class:`facebench.pixelsmile.editor.PixelSmileEditor`."""
        return asdict(self)


PRESETS: dict[str, EditorPreset] = {
    "official": EditorPreset(size=512, output_size=1024, condition_area=None, mm_token_types=False,
                             generator_device="pipeline", batch_size=1, paste_back=False),
    "facebench": EditorPreset(size=512, output_size=None, condition_area=384 * 384, mm_token_types=True,
                              generator_device="cpu", batch_size=None, paste_back=True),
}
DEFAULT_PRESET = "official"


def get_preset(name: str) -> EditorPreset:
    """The preset called ``name``; ``ValueError`` names the known ones."""
    key = str(name).strip().lower()
    if key not in PRESETS:
        raise ValueError(f"unknown PixelSmile preset {name!r}; expected one of: {', '.join(PRESETS)}")
    return PRESETS[key]


def resolve_settings(preset: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The preset's settings with every override that is not None put over them."""
    out = get_preset(preset).as_dict()
    out.update({k: v for k, v in overrides.items() if v is not None})
    return out
