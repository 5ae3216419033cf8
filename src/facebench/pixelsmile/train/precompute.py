"""Precompute, per training triplet, everything the frozen parts produce (method notes "Precompute").

One ``.safetensors`` file per sample, in shard folders of ``shard_size`` files
(``cache/shard-0000/00000007.safetensors``), holding:

- ``control``, ``latent_a``, ``latent_b``: normalised VAE latents (z, 1, h, w) -- the posterior's
  mode, or (``latents="sample"``, the official recipe) a draw from it with a generator seeded from the
  row's text and the run's seed (:func:`latent_seed`; never from where the model or the cache lie),
  so a rerun writes the same file -- of the source and the
  two targets, each cropped to a square (``crop="box"``: around the row's face box of that image,
  :func:`facebench.pixelsmile.editor.square_box`, else the centre square) and resized to ``size``;
- ``embeds_a``, ``embeds_b``: the conditioning ``e(alpha) = e_neu + alpha (e_tgt - e_neu)`` of each
  target at its own score, encoded with the *source* image, aligned and compacted
  (:mod:`facebench.pixelsmile.conditioning`);
- ``image_a``, ``image_b``: the target images (3, size, size) uint8 (positives of the losses);
- ``theta_a``, ``theta_b``: face-alignment matrices for the identity encoder from the row's
  landmarks or box (the fallback when no face is found on an image during training);
- ``human``: 1 for a photo row (subject "person"), 0 for anime (no identity loss).

Files are written to a temporary name and renamed (atomic); a file whose stored key (hash of the
row, the settings and the model) matches is skipped, so an interrupted run resumes. With several
processes, process ``rank`` of ``world`` takes the samples ``i`` with ``i % world == rank``. A
sample that fails is reported at the end; the others still run.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ...base.imageio import load_image
from ..conditioning import align, combine, compact
from ..encoding import PromptEncoder
from ..prompts import expression_prompt, neutral_prompt
from ..sampler import encode_image, to_pixels
from .data import Triplet
from .encoders import alignment_theta

#: Bump when the file layout changes (part of every sample's key).
FORMAT_VERSION = "2"


@dataclass
class PrecomputeReport:
    """What one precompute pass did."""

    written: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)


def sample_path(cache: str | Path, index: int, shard_size: int) -> Path:
    """Where sample ``index`` lives: ``cache/shard-{index // shard_size:04d}/{index:08d}.safetensors``."""
    return Path(cache) / f"shard-{index // shard_size:04d}" / f"{index:08d}.safetensors"


def sample_key(triplet: Triplet, settings: dict[str, Any]) -> str:
    """SHA-256 of the row text and the settings that shape the sample (resume check)."""
    h = hashlib.sha256()
    h.update(FORMAT_VERSION.encode())
    h.update(triplet.raw.encode())
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return h.hexdigest()


def latent_seed(triplet: Triplet, seed: int) -> int:
    """Seed of a row's posterior draws: the first 60 bits of SHA-256(``seed`` : row text).

    Depends only on what the run trains on, so the same data and seed give the same latents (and
    the same loss curve) whatever folder the model or the cache sit in.
    """
    return int(hashlib.sha256(f"{int(seed)}:{triplet.raw}".encode()).hexdigest()[:15], 16)


def stored_key(path: Path) -> str | None:
    """The key in an existing sample file's header (``None`` if absent or unreadable)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return (f.metadata() or {}).get("key")
    except Exception:  # noqa: BLE001 - a broken file is simply recomputed
        return None


def _crop(img: np.ndarray, size: int, box: np.ndarray | None = None) -> tuple[np.ndarray, tuple[int, int, float]]:
    from ...base.pixels import resize_to
    from ..editor import square_box

    x0, y0, side = square_box(img.shape, box)
    return resize_to(img[y0:y0 + side, x0:x0 + side], (size, size)), (x0, y0, size / side)


def _to_crop(points: np.ndarray | None, frame: tuple[int, int, float]) -> np.ndarray | None:
    """Pixel coordinates (landmarks (5, 2) or a box (4,)) moved into the resized square crop."""
    if points is None:
        return None
    x0, y0, k = frame
    arr = np.asarray(points, float)
    return ((arr.reshape(-1, 2) - [x0, y0]) * k).reshape(arr.shape)


@torch.no_grad()
def precompute_sample(pipe: Any, encoder: PromptEncoder, triplet: Triplet, size: int,
                      identity_size: int = 112, crop: str = "box",
                      latent_seed: int | None = None) -> dict[str, torch.Tensor]:
    """The tensors of one sample (see the module docstring); ``latent_seed`` None = posterior modes."""
    by_box = crop == "box"
    gen = None
    if latent_seed is not None:
        gen = torch.Generator(pipe.vae.device).manual_seed(int(latent_seed))
    source, _ = _crop(load_image(triplet.source), size, triplet.source_box if by_box else None)
    out: dict[str, torch.Tensor] = {"control": encode_image(pipe, to_pixels(source), gen)[0].float().cpu()}
    neutral = encoder.encode(source, neutral_prompt(triplet.subject))
    for name, tgt in (("a", triplet.a), ("b", triplet.b)):
        img, frame = _crop(load_image(tgt.image), size, tgt.box if by_box else None)
        enc = encoder.encode(source, expression_prompt(tgt.expression, triplet.subject))
        e, m = compact(*combine(align([neutral, enc]), [[tgt.alpha]]))
        out[f"embeds_{name}"] = e[0][m[0]].to(pipe.text_encoder.dtype).cpu().contiguous()
        out[f"latent_{name}"] = encode_image(pipe, to_pixels(img), gen)[0].float().cpu()
        out[f"image_{name}"] = torch.from_numpy(np.array(img)).permute(2, 0, 1).contiguous()
        out[f"theta_{name}"] = alignment_theta(_to_crop(tgt.landmarks, frame), _to_crop(tgt.box, frame), size,
                                               identity_size)
    out["human"] = torch.tensor(1 if triplet.subject == "person" else 0, dtype=torch.uint8)
    return out


def precompute(pipe: Any, triplets: Sequence[Triplet], cache: str | Path, *, size: int, settings: dict[str, Any],
               condition_area: int | None = None, shard_size: int = 1000, rank: int = 0, world: int = 1,
               identity_size: int = 112, progress: bool = True, crop: str = "box",
               latents: str = "mode", seed: int = 0) -> PrecomputeReport:
    """Write the missing or stale sample files of this process's share; see the module docstring.

    ``seed`` (the run's seed) seeds the posterior draws with ``latents="sample"`` (:func:`latent_seed`).
    """
    from safetensors.torch import save_file
    from tqdm.auto import tqdm

    encoder = PromptEncoder(pipe, condition_area=condition_area, max_cache=8)
    report = PrecomputeReport()
    mine = [i for i in range(len(triplets)) if i % world == rank]
    for i in tqdm(mine, desc="precompute", disable=not progress):
        t = triplets[i]
        path = sample_path(cache, i, shard_size)
        key = sample_key(t, {**settings, "size": size, "condition_area": condition_area,
                             "identity_size": identity_size, "crop": crop, "latents": latents,
                             **({"seed": int(seed)} if latents == "sample" else {})})
        if path.exists() and stored_key(path) == key:
            report.skipped += 1
            continue
        try:
            draw = latent_seed(t, seed) if latents == "sample" else None
            tensors = precompute_sample(pipe, encoder, t, size, identity_size, crop, draw)
        except Exception as exc:  # noqa: BLE001 - one bad sample must not stop the others
            report.failed.append(f"line {t.line} ({t.id}): {type(exc).__name__}: {exc}")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        meta = {"key": key, "id": t.id, "line": str(t.line), "expression_a": t.a.expression,
                "expression_b": t.b.expression, "alpha_a": repr(t.a.alpha), "alpha_b": repr(t.b.alpha)}
        save_file(tensors, str(tmp), metadata=meta)
        os.replace(tmp, path)
        report.written += 1
        encoder.clear()
    return report


def load_sample(path: str | Path) -> dict[str, torch.Tensor]:
    """Read one precomputed sample."""
    from safetensors.torch import load_file

    return load_file(str(path))
