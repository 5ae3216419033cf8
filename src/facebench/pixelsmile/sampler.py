"""A batched flow-matching sampler over the Qwen-Image-Edit-Plus components.

The stock ``QwenImageEditPlusPipeline.__call__`` refuses batch sizes above one and replaces an
all-ones prompt mask by ``None``. This loop composes the same components the same way (image
latents appended after the noisy latents, the 2511 ``zero_cond_t`` modulation, dynamic-shift
sigmas ``linspace(1, 1/steps)``, Euler steps, VAE decode) for a whole batch of conditioning rows,
each with its own mask. Every row starts from the noise of a fresh generator seeded with ``seed``,
so a batch of rows returns what separate one-row calls return (to float tolerance).

Every step that the stock call does is done the same way, in the same dtype: the control image
goes through ``pipe.image_processor.preprocess`` at the output size (so a 512 crop is upsampled
to 1024 as the official script's call does), latents are normalised ``(z - mean) / std`` and
denormalised ``z / (1 / std) + mean``, images are post-processed by ``pipe.image_processor``, and
the noise comes from a generator on the CPU or on the pipeline's device (the official script seeds
``torch.Generator(device=pipe.device)``; on CUDA the two give different noise). So one row equals
the stock call bit for bit (tests/pixelsmile/test_official.py).

Optional true classifier-free guidance (``true_cfg_scale > 1`` with a negative conditioning) uses
the pipeline's rule ``neg + s (cond - neg)`` rescaled to the conditional norm; PixelSmile runs
without it (scale 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .conditioning import pad_rows


def pack_latents(latents: torch.Tensor) -> torch.Tensor:
    """(B, C, 1, H, W) VAE latents -> (B, H/2 * W/2, 4C) tokens of 2x2 patches (the pipeline's packing)."""
    b, c, _, h, w = latents.shape
    x = latents.view(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(b, (h // 2) * (w // 2), c * 4)


def unpack_latents(tokens: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`pack_latents` for latent size ``h x w``."""
    b, _, c4 = tokens.shape
    x = tokens.view(b, h // 2, w // 2, c4 // 4, 2, 2).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(b, c4 // 4, 1, h, w)


def _latent_stats(vae: Any, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    z = vae.config.z_dim
    mean = torch.tensor(vae.config.latents_mean).view(1, z, 1, 1, 1).to(like.device, like.dtype)
    std = torch.tensor(vae.config.latents_std).view(1, z, 1, 1, 1).to(like.device, like.dtype)
    return mean, std


def encode_image(pipe: Any, pixels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Normalised VAE latents (B, z, 1, h, w) of images in [-1, 1] (B, 3, H, W): the posterior's mode,
    or a draw from it with ``generator`` (the official training precompute samples)."""
    vae = pipe.vae
    x = pixels.to(vae.device, vae.dtype).unsqueeze(2)
    dist = vae.encode(x).latent_dist
    lat = dist.mode() if generator is None else dist.sample(generator)
    mean, std = _latent_stats(vae, lat)
    return (lat - mean) / std


def decode_latents(pipe: Any, latents: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (B, 3, H, W) from normalised latents (B, z, 1, h, w) (differentiable)."""
    vae = pipe.vae
    lat = latents.to(vae.dtype)
    mean, std = _latent_stats(vae, lat)
    return vae.decode(lat / (1.0 / std) + mean, return_dict=False)[0][:, :, 0]  # the pipeline's formula


def to_pixels(image: np.ndarray) -> torch.Tensor:
    """RGB uint8 (H, W, 3) -> (1, 3, H, W) float in [-1, 1]."""
    t = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1).float() / 127.5 - 1.0
    return t.unsqueeze(0)


#: Where the noise generator lives: ``"cpu"`` or ``"pipeline"`` (the pipeline's device, as the official script).
GENERATOR_DEVICES: tuple[str, ...] = ("pipeline", "cpu")


def row_noise(pipe: Any, seed: int, rows: int, height: int, width: int, *, device: torch.device,
              dtype: torch.dtype, generator_device: str = "cpu") -> torch.Tensor:
    """Packed initial noise, the same for every row: each from a fresh generator seeded with ``seed``.

    The generator is on the CPU (``generator_device="cpu"``) or on ``device`` (``"pipeline"``);
    ``randn_tensor`` draws as the pipeline does, so one row equals a stock call with
    ``generator=torch.Generator(that device).manual_seed(seed)``.
    """
    from diffusers.utils.torch_utils import randn_tensor

    if generator_device not in GENERATOR_DEVICES:
        raise ValueError(f"generator device {generator_device!r}: expected one of {', '.join(GENERATOR_DEVICES)}")
    gen_dev = torch.device("cpu") if generator_device == "cpu" else torch.device(device)
    z = pipe.transformer.config.in_channels // 4
    f = pipe.vae_scale_factor
    shape = (1, z, 1, 2 * (height // (2 * f)), 2 * (width // (2 * f)))
    noise = [randn_tensor(shape, generator=torch.Generator(gen_dev).manual_seed(int(seed)), device=device,
                          dtype=dtype) for _ in range(rows)]
    return pack_latents(torch.cat(noise))


def control_latents(pipe: Any, control_image: np.ndarray, height: int, width: int, dtype: torch.dtype) -> torch.Tensor:
    """Packed VAE latents of the control image resized to ``height x width`` by the pipeline's image processor."""
    from PIL import Image

    pixels = pipe.image_processor.preprocess(Image.fromarray(control_image), height, width)
    return pack_latents(encode_image(pipe, pixels.to(dtype)).to(dtype))


def postprocess(pipe: Any, images: torch.Tensor) -> list[np.ndarray]:
    """Decoded images (B, 3, H, W) in [-1, 1] -> RGB uint8 arrays, by the pipeline's own post-processing."""
    return [np.asarray(img) for img in pipe.image_processor.postprocess(images, output_type="pil")]


def timesteps_for(pipe: Any, steps: int, image_seq_len: int, device: torch.device) -> torch.Tensor:
    """The scheduler's timesteps for ``steps`` Euler steps with Qwen-Image's dynamic shift ``mu``."""
    from diffusers.pipelines.qwenimage.pipeline_qwenimage_edit_plus import calculate_shift, retrieve_timesteps

    cfg = pipe.scheduler.config
    mu = calculate_shift(image_seq_len, cfg.get("base_image_seq_len", 256), cfg.get("max_image_seq_len", 4096),
                         cfg.get("base_shift", 0.5), cfg.get("max_shift", 1.15))
    sigmas = np.linspace(1.0, 1 / steps, steps)
    timesteps, _ = retrieve_timesteps(pipe.scheduler, steps, device, sigmas=sigmas, mu=mu)
    pipe.scheduler.set_begin_index(0)
    return timesteps


def velocity(transformer: Any, noisy: torch.Tensor, control: torch.Tensor, embeds: torch.Tensor, mask: torch.Tensor,
             sigma: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """Transformer velocity for packed noisy latents (B, S, C) with control-image tokens appended.

    ``sigma`` (B,) in [0, 1] is the flow time (the scheduler's timestep / 1000).
    """
    b, s = noisy.shape[:2]
    shapes = [[(1, grid[0], grid[1]), (1, grid[0], grid[1])]] * b
    out = transformer(
        hidden_states=torch.cat([noisy, control.expand(b, -1, -1)], dim=1),
        timestep=sigma.to(noisy.dtype), guidance=None, encoder_hidden_states=embeds,
        encoder_hidden_states_mask=mask, img_shapes=shapes, return_dict=False,
    )[0]
    return out[:, :s]


@torch.no_grad()
def sample(pipe: Any, control_image: np.ndarray, embeds: torch.Tensor, mask: torch.Tensor, *, steps: int,
           seed: int, true_cfg_scale: float = 1.0,
           negative: tuple[torch.Tensor, torch.Tensor] | None = None, output: str = "uint8",
           height: int | None = None, width: int | None = None, generator_device: str = "cpu") -> list[Any]:
    """Denoise one batch: row r conditioned on ``embeds[r]`` with ``mask[r]``; returns RGB uint8 images
    (``output="float"``: the decoded (3, H, W) float tensors in [-1, 1], for tolerance checks).

    ``control_image`` is the RGB uint8 input; it is resized to the output size ``height x width``
    (default: its own size) by the pipeline's image processor and encoded once by the VAE.
    ``generator_device``: ``"cpu"`` or ``"pipeline"`` (see :func:`row_noise`).
    """
    tr = pipe.transformer
    device, dtype = tr.device, tr.dtype
    mult = pipe.vae_scale_factor * 2
    height = (height or control_image.shape[0]) // mult * mult
    width = (width or control_image.shape[1]) // mult * mult
    rows = embeds.shape[0]
    control = control_latents(pipe, control_image, height, width, dtype)
    grid = (height // pipe.vae_scale_factor // 2, width // pipe.vae_scale_factor // 2)
    latents = row_noise(pipe, seed, rows, height, width, device=device, dtype=dtype,
                        generator_device=generator_device)
    embeds, mask = embeds.to(device, dtype), mask.to(device)
    cfg = negative is not None and true_cfg_scale > 1.0
    if cfg:
        neg_e, neg_m = negative
        both_e, both_m = pad_rows([(embeds, mask), (neg_e.to(device, dtype).expand(rows, -1, -1),
                                                     neg_m.to(device).expand(rows, -1))])
    for t in timesteps_for(pipe, steps, latents.shape[1], device):
        sigma = t.expand(rows).to(dtype) / 1000
        if cfg:
            v2 = velocity(tr, latents.repeat(2, 1, 1), control, both_e, both_m, sigma.repeat(2), grid)
            cond, neg = v2[:rows], v2[rows:]
            comb = neg + true_cfg_scale * (cond - neg)
            v = comb * (cond.norm(dim=-1, keepdim=True) / comb.norm(dim=-1, keepdim=True))
        else:
            v = velocity(tr, latents, control, embeds, mask, sigma, grid)
        latents = pipe.scheduler.step(v, t, latents, return_dict=False)[0]
    h, w = 2 * grid[0], 2 * grid[1]
    images = [decode_latents(pipe, unpack_latents(latents[r:r + 1], h, w)) for r in range(rows)]
    if output == "float":
        return [img.float().cpu() for batch in images for img in batch]
    return [img for batch in images for img in postprocess(pipe, batch)]
