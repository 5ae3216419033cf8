"""PixelSmile on diffusers: continuous expression editing by textual latent interpolation.

- :mod:`.editor` -- the ``pixelsmile`` editor (registered in ``facebench.edit.base.EDITORS``);
- :mod:`.conditioning` -- prompt alignment, interpolation ``e(a) = e_neu + a (e_tgt - e_neu)``, blends;
- :mod:`.encoding` -- prompts encoded with the image (cached), 3-D rotary positions for image tokens;
- :mod:`.sampler` -- the batched denoising loop (a sweep in one batch);
- :mod:`.loading` -- model / LoRA / device checks and loading;
- :mod:`.train` -- symmetric joint training (data, precompute, losses, encoders, trainer);
- :mod:`.tiny` -- a tiny random pipeline for tests and benchmarks.

Importing this package imports neither diffusers nor transformers.
"""
