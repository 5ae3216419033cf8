"""The ``pixelsmile`` editor: continuous expression editing with Qwen-Image-Edit + a PixelSmile LoRA.

PixelSmile paper (seed 001) sec. 4.1 and 5.6, method notes "Inference": the input is centre-cropped
to a square and resized to 512; the neutral and target prompts are encoded once per (image,
expression) *with the image*; the conditioning is ``e(a) = e_neu + a (e_tgt - e_neu)`` (blends:
``e_neu + sum_i a_i (e_i - e_neu)``), aligned as :mod:`facebench.pixelsmile.conditioning` explains;
50 flow-matching steps, no classifier-free guidance, seed 42. The ``official`` preset (default,
:mod:`facebench.pixelsmile.presets`) reproduces the authors' inference script bit for bit (one row
per call, 1024 output, generator on the pipeline's device); with ``batch_size=None`` a sweep
denoises all its alphas in one batch (:mod:`facebench.pixelsmile.sampler`) and returns what
separate edits return to float tolerance.

Importing this module registers the editor without importing diffusers or transformers; the
pipeline is loaded when the editor is built.
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

import numpy as np

from ..edit.base import ALPHA_MAX, EDITORS, EditResult, ExpressionControl, FaceSelector, sweep_controls
from ..base.imageio import load_image
from ..base.pixels import resize_to
from .presets import DEFAULT_PRESET
from .prompts import check_subject, expression_prompt, neutral_prompt

ALPHA_SEMANTICS = (
    "alpha = 0 is the neutral prompt's conditioning: it actively neutralises the face (not a no-op); "
    "alpha = 1 is the target prompt's conditioning; values in between interpolate the prompt "
    "embeddings linearly and alpha > 1 extrapolates along e_tgt - e_neu (the paper shows 1.5); "
    "alpha < 0 (PixelSmileEditor.edit_weights, the CLI) moves past neutral, away from the target."
)

#: Qwen-Image-Edit-2511 and the PixelSmile LoRAs are Apache-2.0; weights are given by the user.
LICENCE = "Apache-2.0 (Qwen-Image-Edit-2511 base model and PixelSmile LoRA, supplied by the user)"


def square_box(shape: tuple[int, ...], face_box: np.ndarray | None = None, *, margin: float = 2.0) -> tuple[int, int, int]:
    """``(x0, y0, side)`` of the square crop: the centre crop, or a square of ``margin`` x the face
    box's larger side centred on the face, shifted to stay inside the image."""
    h, w = shape[:2]
    if face_box is None:
        side = min(h, w)
        return (w - side) // 2, (h - side) // 2, side
    x0, y0, x1, y1 = (float(v) for v in face_box)
    side = int(round(min(max(x1 - x0, y1 - y0) * margin, h, w)))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = int(round(min(max(cx - side / 2, 0), w - side)))
    top = int(round(min(max(cy - side / 2, 0), h - side)))
    return left, top, side


@EDITORS.register("pixelsmile", licence=LICENCE, needs_gpu=True, alpha_semantics=ALPHA_SEMANTICS,
                  description="PixelSmile: Qwen-Image-Edit-2511 + LoRA, textual latent interpolation "
                              "(model and LoRA paths given by the user)")
class PixelSmileEditor:
    """Expression editor on diffusers' ``QwenImageEditPlusPipeline`` (see the module docstring).

    Options: ``preset`` "official" (default) or "facebench" fixes the settings below
    (:mod:`facebench.pixelsmile.presets`; the official values are those of the authors' inference
    script); any of them given explicitly (not None) overrides the preset: ``size`` (square crop
    side, 512), ``output_size`` (denoised output side; official 1024, None = the crop size),
    ``condition_area`` (pixels the VL encoder sees; None = the crop as it is), ``mm_token_types``,
    ``generator_device`` ("pipeline" | "cpu"), ``batch_size`` (rows per denoising batch; None = a
    whole sweep), ``paste_back`` (put the edited square back into the input), ``steps`` (50),
    ``seed`` (42), ``true_cfg_scale`` (<= 1 = no guidance; > 1 uses ``negative_prompt``).
    Not in presets: ``model`` (pipeline folder or cached hub id), ``lora`` (file or folder),
    ``lora_scale`` 1, ``subject`` "person" | "character", ``device`` (None = CUDA if present),
    ``dtype`` (None = bf16 on CUDA, fp32 on CPU), ``pipeline`` (an already built pipeline).
    """

    name = "pixelsmile"
    alpha_semantics = ALPHA_SEMANTICS

    def __init__(self, model: str | None = None, lora: str | None = None, *, preset: str = DEFAULT_PRESET,
                 lora_scale: float = 1.0, subject: str = "person", size: int | None = None,
                 output_size: int | None = None, steps: int | None = None, seed: int | None = None,
                 true_cfg_scale: float | None = None, negative_prompt: str = " ", device: str | None = None,
                 dtype: str | None = None, condition_area: int | None = None, batch_size: int | None = None,
                 paste_back: bool | None = None, alpha_max: float = ALPHA_MAX,
                 mm_token_types: bool | None = None, generator_device: str | None = None,
                 pipeline: Any = None) -> None:
        from .loading import PixelSmileError, load_lora, load_pipeline, resolve_device, resolve_dtype
        from .presets import resolve_settings
        from .sampler import GENERATOR_DEVICES

        self.subject = check_subject(subject)
        try:
            st = resolve_settings(preset, dict(
                size=size, output_size=output_size, steps=steps, seed=seed, true_cfg_scale=true_cfg_scale,
                condition_area=condition_area, batch_size=batch_size, paste_back=paste_back,
                mm_token_types=mm_token_types, generator_device=generator_device))
        except ValueError as exc:
            raise PixelSmileError(str(exc)) from None
        self.preset, self.settings = str(preset).strip().lower(), st
        for key in ("size", "output_size"):
            v = st[key]
            if v is not None and (int(v) < 32 or int(v) % 32):
                raise PixelSmileError(f"{key} {v!r} must be a multiple of 32 (at least 32)")
        if int(st["steps"]) < 2:  # one step: the scheduler's terminal shift divides by zero (NaN images)
            raise PixelSmileError(f"steps {st['steps']!r} must be at least 2")
        if st["batch_size"] is not None and int(st["batch_size"]) < 1:
            raise PixelSmileError(f"batch_size {st['batch_size']!r} must be at least 1")
        if st["generator_device"] not in GENERATOR_DEVICES:
            raise PixelSmileError(f"generator_device {st['generator_device']!r} must be one of "
                                  f"{', '.join(GENERATOR_DEVICES)}")
        self.size, self.steps, self.seed = int(st["size"]), int(st["steps"]), int(st["seed"])
        self.output_size = int(st["output_size"] or self.size)
        self.generator_device = st["generator_device"]
        self.true_cfg_scale, self.negative_prompt = float(st["true_cfg_scale"]), str(negative_prompt)
        self.batch_size, self.paste_back, self.alpha_max = st["batch_size"], bool(st["paste_back"]), float(alpha_max)
        if pipeline is None:
            if model is None:
                raise PixelSmileError("the pixelsmile editor needs model=PATH (a Qwen-Image-Edit-2511 pipeline folder)")
            pipeline = load_pipeline(model, device=device, dtype=dtype)
        elif device is not None or dtype is not None:
            dev = resolve_device(device) if device is not None else pipeline.transformer.device
            pipeline.to(dev) if dtype is None else pipeline.to(dev, resolve_dtype(dtype, dev))
        self.pipe = pipeline
        self.model, self.lora = model, None
        if lora is not None:
            self.lora = str(load_lora(self.pipe, lora, scale=lora_scale))
        from .encoding import PromptEncoder

        self.encoder = PromptEncoder(self.pipe, condition_area=st["condition_area"],
                                     mm_token_types=bool(st["mm_token_types"]))

    # -- the Editor protocol ------------------------------------------------------------------
    def edit(self, image: Any, control: ExpressionControl, *, face: FaceSelector = None) -> EditResult:
        """Edit ``image`` (path or RGB array) with one control (single expression or blend)."""
        return self._run(image, [control], face)[0]

    def sweep(self, image: Any, expression: "str | ExpressionControl", alphas: Sequence[float], *,
              face: FaceSelector = None) -> list[EditResult]:
        """One result per alpha, all alphas denoised in one batch (same seed -> same images as edits)."""
        return self._run(image, sweep_controls(expression, alphas, alpha_max=self.alpha_max), face)

    # -- work -----------------------------------------------------------------------------------
    def prepare(self, image: Any, face: FaceSelector = None) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int], int | None]:
        """``(original, square crop at size, (x0, y0, side), face_index)`` for ``image``."""
        img = load_image(image)
        box, index = None, None
        if face is not None and not isinstance(face, int):
            box = np.asarray(face.detection.box, float)
        elif isinstance(face, int):
            from ..face.detect import detect_faces

            dets = detect_faces(img)
            if not 0 <= face < len(dets):
                raise ValueError(f"face index {face} is out of range: {len(dets)} face(s) found")
            box, index = np.asarray(dets[face].box, float), face
        x0, y0, side = square_box(img.shape, box)
        crop = resize_to(img[y0:y0 + side, x0:x0 + side], (self.size, self.size))
        return img, crop, (x0, y0, side), index

    def conditioning(self, crop: np.ndarray, controls: Sequence[Any]) -> tuple[Any, Any]:
        """Compacted conditioning rows ``(embeds (R, L, D), mask (R, L))``, one per control (an
        :class:`ExpressionControl` or a mapping expression -> alpha, any real alpha)."""
        from .conditioning import blend

        rows = [dict(c.as_dict()) if isinstance(c, ExpressionControl) else dict(c) for c in controls]
        names = sorted({e for r in rows for e in r})
        neutral = self.encoder.encode(crop, neutral_prompt(self.subject))
        targets = {e: self.encoder.encode(crop, expression_prompt(e, self.subject)) for e in names}
        return blend(neutral, targets, rows)

    def edit_weights(self, image: Any, rows: Sequence[Mapping[str, float]], *,
                     face: FaceSelector = None) -> list[tuple[np.ndarray, dict[str, Any]]]:
        """``(image, info)`` per row of weights ``{expression: alpha}`` with any finite alpha.

        This is the method's full range: ``alpha < 0`` moves the conditioning past the neutral prompt,
        away from the target (``e_neu - |a| (e_tgt - e_neu)``), an "anti-expression" the paper does
        not evaluate; :class:`ExpressionControl` (the shared editor protocol) keeps to
        ``[0, alpha_max]``. ``|alpha|`` is limited to ``alpha_max`` here too.
        """
        from ..expressions import normalize_expression
        from .loading import PixelSmileError

        clean = []
        for row in rows:
            if not row:
                raise PixelSmileError("a row of weights needs at least one expression")
            out = {}
            for name, a in row.items():
                a = float(a)
                if not np.isfinite(a) or abs(a) > self.alpha_max:
                    raise PixelSmileError(f"alpha {a!r} for {name!r} is out of range "
                                          f"[-{self.alpha_max:g}, {self.alpha_max:g}]")
                out[normalize_expression(name)] = a
            clean.append(out)
        return self._run(image, clean, face)

    def _run(self, image: Any, controls: Sequence[Any], face: FaceSelector) -> list[Any]:
        """Edited images for controls (EditResults) or weight rows (``(image, info)`` pairs)."""
        from .sampler import sample

        t0 = time.perf_counter()
        original, crop, (x0, y0, side), index = self.prepare(image, face)
        embeds, mask = self.conditioning(crop, controls)
        negative = None
        if self.true_cfg_scale > 1.0:
            neg = self.encoder.encode(crop, self.negative_prompt)
            negative = (neg.embeds.unsqueeze(0), neg.embeds.new_ones(1, len(neg.embeds)).bool())
        step = self.batch_size or len(controls)
        images: list[np.ndarray] = []
        for i in range(0, len(controls), step):
            images += sample(self.pipe, crop, embeds[i:i + step], mask[i:i + step], steps=self.steps,
                             seed=self.seed, true_cfg_scale=self.true_cfg_scale, negative=negative,
                             height=self.output_size, width=self.output_size,
                             generator_device=self.generator_device)
        seconds = time.perf_counter() - t0
        out: list[Any] = []
        for control, edited in zip(controls, images):
            result = edited
            if self.paste_back:
                result = original.copy()
                result[y0:y0 + side, x0:x0 + side] = resize_to(edited, (side, side))
            info = {
                "crop_box": (x0, y0, x0 + side, y0 + side), "size": self.size, "output_size": self.output_size,
                "preset": self.preset, "generator_device": self.generator_device, "steps": self.steps,
                "seed": self.seed, "subject": self.subject, "lora": self.lora, "true_cfg_scale": self.true_cfg_scale,
                "batch_rows": len(controls), "seconds_per_image": seconds / len(controls), "face_index": index,
            }
            if isinstance(control, ExpressionControl):
                out.append(EditResult(image=result, control=control, face_index=index, editor=self.name, info=info))
            else:
                out.append((result, {**info, "weights": control}))
        return out
