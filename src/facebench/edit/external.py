"""Editors for benchmarking outputs made elsewhere: a folder of precomputed edits, PixelSmile's
gallery, an OpenAI-compatible image-edit endpoint and an external command. All are registered in
:data:`facebench.edit.base.EDITORS` next to the built-in ``offline`` and ``pixelsmile`` editors.

``folder`` layout (one image per task, target expression and alpha)::

    <root>/<model>/<task_id>/<expression>/<alpha>.<ext>

``<alpha>`` is written with Python's ``f"{alpha:g}"`` (``0``, ``0.25``, ``1``); any file whose stem
parses to the same number (``0.250.png``) and any image suffix (png, jpg, webp, avif...) is found.
A general-track run (no alpha grid) looks for ``1.<ext>``.

Editors that need the task id (folder) set ``uses_task = True``; the runner then passes
``task=<task_id>`` to :meth:`edit`.
"""

from __future__ import annotations

import base64
import math
import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .base import EDITORS, EditResult, ExpressionControl, FaceSelector, sweep_controls
from ..base.imageio import IMAGE_SUFFIXES, ImageError, image_hash, load_image
from ..base.http import HttpClient, HttpError
from ..base.pixels import encode_png, resize_to


class EditError(RuntimeError):
    """An editor could not produce an edit; ``str(err)`` is one line saying why."""


def _single(control: ExpressionControl, editor: str) -> tuple[str, float]:
    if len(control.weights) != 1:
        raise EditError(f"the {editor} editor edits one expression at a time, got the blend {control.label()}")
    return control.weights[0]


class _LoopSweep:
    """``sweep`` as separate ``edit`` calls (these editors share no work between alphas)."""

    def sweep(self, image: np.ndarray, expression: "str | ExpressionControl", alphas: Sequence[float], *,
              face: FaceSelector = None, **kw: Any) -> list[EditResult]:
        return [self.edit(image, c, face=face, **kw) for c in sweep_controls(expression, alphas)]  # type: ignore[attr-defined]


def _file_id(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def alpha_file_stem(alpha: float) -> str:
    """The file stem of an alpha in the folder layout: ``f"{alpha:g}"``."""
    return f"{float(alpha):g}"


@EDITORS.register(
    "folder", licence="n/a (your files)", needs_gpu=False,
    description="precomputed edits in <root>/<model>/<task_id>/<expression>/<alpha>.<ext>",
    alpha_semantics="whatever the model that made the files meant; alpha only selects the file",
)
class FolderEditor(_LoopSweep):
    """Reads precomputed edits from ``root`` (see the module docstring for the layout).

    ``model``: the sub-folder of ``root`` (None: ``root`` itself holds the task folders);
    ``resize``: resize a file of another size to the source's size (default: no, the runner then
    records the row as failed with "wrong size").
    """

    name = "folder"
    alpha_semantics = "alpha selects the precomputed file <alpha>.<ext>"
    uses_task = True

    def __init__(self, root: str | os.PathLike, model: str | None = None, resize: bool = False) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(f"folder editor: {self.root} is not a folder")
        self.base = self.root / model if model else self.root
        if not self.base.is_dir():
            raise ValueError(f"folder editor: model folder {self.base} not found")
        self.model = model
        self.resize = bool(resize)

    def find(self, task: str, expression: str, alpha: float) -> Path:
        """The file holding the edit of ``task`` toward ``expression`` at ``alpha``."""
        d = self.base / task / expression
        if not d.is_dir():
            raise EditError(f"no folder {d}")
        for p in sorted(d.iterdir()):
            if p.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                if math.isclose(float(p.stem), float(alpha), rel_tol=0, abs_tol=1e-6):
                    return p
            except ValueError:
                continue
        raise EditError(f"no file for alpha {alpha_file_stem(alpha)} in {d}")

    def content_id(self, task: str, expression: str, alpha: float) -> str:
        """Path, size and modification time of the file an edit reads: part of the cache key, so
        replacing a file is never hidden by the cache."""
        return _file_id(self.find(task, expression, alpha))

    def edit(self, image: np.ndarray, control: ExpressionControl, *, face: FaceSelector = None,
             task: str | None = None) -> EditResult:
        """The precomputed edit for ``task`` and the control's single (expression, alpha)."""
        if not task:
            raise EditError("the folder editor needs the task id (run it through facebench.bench)")
        expr, alpha = _single(control, "folder")
        path = self.find(task, expr, alpha)
        try:
            out = load_image(path)
        except ImageError as exc:
            raise EditError(str(exc)) from None
        info: dict[str, Any] = {"file": str(path)}
        if self.resize and out.shape != image.shape:
            info["resized_from"] = list(out.shape[:2])
            out = resize_to(out, image.shape[:2])
        return EditResult(out, control, None, self.name, info)


#: Frames per expression in the PixelSmile gallery (01..27) and the page's slider mapping.
GALLERY_FRAMES = 27


def gallery_frame(alpha: float) -> int:
    """Frame index of a slider value in [0, 1] as PixelSmile's page maps it: ``round(v*26)+1``."""
    if not 0.0 <= alpha <= 1.0:
        raise EditError(f"gallery alpha {alpha!r} is outside [0, 1]")
    return int(round(alpha * (GALLERY_FRAMES - 1))) + 1


def gallery_alphas(frames: Sequence[int] | None = None) -> list[float]:
    """The alpha proxies of gallery frames (all 27 by default): ``(frame - 1) / 26``."""
    fr = range(1, GALLERY_FRAMES + 1) if frames is None else frames
    return [(f - 1) / (GALLERY_FRAMES - 1) for f in fr]


@EDITORS.register(
    "pixelsmile-gallery", licence="Apache-2.0 (PixelSmile project page images)", needs_gpu=False,
    description="PixelSmile's published slider edits: <root>/slider/<expression>/NN.avif",
    alpha_semantics="frame index proxy: alpha v in [0, 1] reads frame round(26 v) + 1 (01 weakest, 27 strongest)",
)
class GalleryEditor(_LoopSweep):
    """PixelSmile's own slider edits (``slider/<expression>/00.avif`` source, ``01..27`` edits).

    The exact alphas are not published; the page maps a slider value v in [0, 1] to frame
    ``round(26 v) + 1``, so alpha is a monotone proxy. Edits (1024 px) are resized to the source's
    size (512 px). The source given must be that expression's ``00.avif`` (checked by pixel hash).
    """

    name = "pixelsmile-gallery"
    alpha_semantics = "frame index proxy (01 weakest .. 27 strongest)"

    def __init__(self, root: str | os.PathLike, check_source: bool = True) -> None:
        self.root = Path(root)
        if not (self.root / "slider").is_dir():
            raise ValueError(f"pixelsmile-gallery editor: {self.root} has no slider/ folder")
        self.check_source = bool(check_source)
        self._source_hash: dict[str, str] = {}

    def check_alphas(self, alphas: Sequence[float]) -> None:
        """Refuse a grid this editor cannot honour: alphas outside [0, 1], or two alphas that read
        the same frame (the 27 frames are all the intensities there are)."""
        frames: dict[int, float] = {}
        for a in alphas:
            f = gallery_frame(float(a))  # EditError outside [0, 1]
            if f in frames:
                raise EditError(f"alphas {frames[f]:g} and {float(a):g} both read gallery frame {f:02d}: "
                                "the gallery has 27 intensities (use multiples of 1/26)")
            frames[f] = float(a)

    def content_id(self, task: str, expression: str, alpha: float) -> str:
        """Path, size and modification time of the frame an edit reads (part of the cache key)."""
        return _file_id(self.root / "slider" / expression / f"{gallery_frame(alpha):02d}.avif")

    def source_path(self, expression: str) -> Path:
        """The source photo of an expression's slider."""
        return self.root / "slider" / expression / "00.avif"

    def edit(self, image: np.ndarray, control: ExpressionControl, *, face: FaceSelector = None,
             task: str | None = None) -> EditResult:
        """Frame ``round(26 alpha) + 1`` of the expression's slider, resized to the source's size."""
        expr, alpha = _single(control, "pixelsmile-gallery")
        if self.check_source:
            if expr not in self._source_hash:
                self._source_hash[expr] = image_hash(load_image(self.source_path(expr)))
            if image_hash(image) != self._source_hash[expr]:
                raise EditError(f"source image is not the gallery's {self.source_path(expr)}")
        frame = gallery_frame(alpha)
        path = self.root / "slider" / expr / f"{frame:02d}.avif"
        try:
            out = load_image(path)
        except ImageError as exc:
            raise EditError(str(exc)) from None
        info = {"file": str(path), "frame": frame, "resized_from": list(out.shape[:2])}
        return EditResult(resize_to(out, image.shape[:2]), control, None, self.name, info)


#: Default instruction sent to image-edit endpoints; fields: expression, alpha, percent.
HTTP_PROMPT = (
    "Change only the facial expression of the person to {expression}, at {percent}% of its full "
    "strength (0% = neutral face, 100% = a clear, full {expression} expression). Keep the person's "
    "identity, head pose, hair, clothing, lighting and background exactly as they are."
)


@EDITORS.register(
    "http", licence="depends on the endpoint", needs_gpu=False,
    description="OpenAI-compatible image-edit endpoint (POST {base_url}/images/edits)",
    alpha_semantics="alpha is written into the instruction as a percentage of full strength",
)
class HttpEditor(_LoopSweep):
    """Edits through an OpenAI-compatible ``/images/edits`` endpoint (multipart: model, prompt, image).

    ``prompt`` is a template with ``{expression}``, ``{alpha}`` and ``{percent}``; timeouts,
    retries with backoff and the rate limit are those of :class:`~facebench.base.http.HttpClient`.
    The response's ``data[0].b64_json`` (or ``data[0].url``) is the edit. ``resize``: resize an
    answer of another size to the source's size (default: no, the row fails with "wrong size").
    """

    name = "http"
    alpha_semantics = "percentage of full strength written into the instruction"

    def __init__(self, *, base_url: str, model: str, prompt: str = HTTP_PROMPT, api_key: str | None = None,
                 api_key_env: str | None = "OPENAI_API_KEY", timeout: float = 120.0, max_retries: int = 3,
                 backoff: float = 2.0, max_backoff: float = 60.0, rate_limit: float | None = None,
                 size: str | None = None, resize: bool = False) -> None:
        self.model = model
        self.prompt = prompt
        self.size = size
        self.resize = bool(resize)
        self.client = HttpClient(base_url, api_key=api_key, api_key_env=api_key_env, timeout=timeout,
                                 max_retries=max_retries, backoff=backoff, max_backoff=max_backoff,
                                 rate_limit=rate_limit)

    def instruction(self, expression: str, alpha: float) -> str:
        """The instruction sent for one (expression, alpha)."""
        return self.prompt.format(expression=expression, alpha=alpha, percent=int(round(alpha * 100)))

    def edit(self, image: np.ndarray, control: ExpressionControl, *, face: FaceSelector = None) -> EditResult:
        """One request to the endpoint; raises :class:`EditError` with the endpoint's trouble."""
        expr, alpha = _single(control, "http")
        fields = {"model": self.model, "prompt": self.instruction(expr, alpha), "n": "1"}
        if self.size:
            fields["size"] = self.size
        try:
            resp = self.client.post_multipart("images/edits", fields, {"image": ("source.png", encode_png(image), "image/png")})
            item = (resp.get("data") or [None])[0]
            if not isinstance(item, dict):
                raise EditError(f"image-edit response has no data[0]: {str(resp)[:120]}")
            if item.get("b64_json"):
                raw = base64.b64decode(item["b64_json"])
            elif item.get("url"):
                raw = self.client.get_bytes(item["url"])
            else:
                raise EditError("image-edit response data[0] has neither b64_json nor url")
        except HttpError as exc:
            raise EditError(f"http editor: {exc}") from None
        try:
            out = load_image(raw)
        except ImageError as exc:
            raise EditError(f"http editor: answer is not an image ({exc.problem})") from None
        info: dict[str, Any] = {"model": self.model}
        if self.resize and out.shape != image.shape:
            info["resized_from"] = list(out.shape[:2])
            out = resize_to(out, image.shape[:2])
        return EditResult(out, control, None, self.name, info)


@EDITORS.register(
    "command", licence="depends on the command", needs_gpu=False,
    description="external command template with {input} {output} {expression} {alpha}",
    alpha_semantics="passed to the command as {alpha}",
)
class CommandEditor(_LoopSweep):
    """Runs an external program per edit.

    ``template`` e.g. ``"python my_editor.py --in {input} --out {output} --expr {expression} --alpha {alpha}"``:
    split like a shell line (no shell is run), then each word formatted, so paths with spaces are
    safe. ``{input}`` is a PNG of the source written to a temporary folder; the program must write
    ``{output}`` (PNG). A non-zero exit, a timeout or a missing output raises :class:`EditError`
    with the end of the program's stderr.
    """

    name = "command"
    alpha_semantics = "passed verbatim as {alpha}"

    def __init__(self, template: str, timeout: float = 600.0, resize: bool = False) -> None:
        if "{input}" not in template or "{output}" not in template:
            raise ValueError(f"command template {template!r} must contain {{input}} and {{output}}")
        self.argv = shlex.split(template)
        self.template = template
        self.timeout = float(timeout)
        self.resize = bool(resize)

    def edit(self, image: np.ndarray, control: ExpressionControl, *, face: FaceSelector = None) -> EditResult:
        """Write the source, run the command, read its output."""
        expr, alpha = _single(control, "command")
        with tempfile.TemporaryDirectory(prefix="facebench-cmd-") as tmp:
            src, dst = Path(tmp) / "input.png", Path(tmp) / "output.png"
            src.write_bytes(encode_png(image))
            argv = [w.format(input=src, output=dst, expression=expr, alpha=f"{alpha:g}") for w in self.argv]
            try:
                proc = subprocess.run(argv, capture_output=True, timeout=self.timeout, check=False)
            except FileNotFoundError:
                raise EditError(f"command not found: {argv[0]}") from None
            except subprocess.TimeoutExpired:
                raise EditError(f"command timed out after {self.timeout:g} s: {argv[0]}") from None
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            if proc.returncode != 0:
                raise EditError(f"command exited with status {proc.returncode}: {tail[0][:200]}")
            if not dst.exists():
                raise EditError(f"command exited 0 but wrote no {dst.name}: {tail[0][:200]}")
            try:
                out = load_image(dst)
            except ImageError as exc:
                raise EditError(f"command output: {exc.problem}") from None
        info: dict[str, Any] = {"command": argv[0]}
        if self.resize and out.shape != image.shape:
            info["resized_from"] = list(out.shape[:2])
            out = resize_to(out, image.shape[:2])
        return EditResult(out, control, None, self.name, info)
