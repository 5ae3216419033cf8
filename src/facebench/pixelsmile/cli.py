"""``facebench pixelsmile edit|sweep`` and ``facebench train pixelsmile CONFIG``.

Heavy libraries (diffusers, transformers, peft, accelerate) are imported only when a command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from ..base.cli import ALPHAS_SYNTAX, add_alphas, add_out
from ..base.errors import UserError

_EDITOR_HELP = """\
PixelSmile (Qwen-Image-Edit-2511 + LoRA). The default preset 'official' uses the values of the
authors' inference script (PixelSmile/infer.py): 512 centre crop passed as is to the text encoder,
1024 output (the pipeline's default), 50 steps, no guidance, seed 42 on a generator on the
pipeline's device, one call per alpha, the edited square returned as it is. Preset 'facebench':
384^2 encoder input, output at the crop size, CPU generator, a sweep in one batch, pasted back.
alpha = 0 is the neutral prompt (it neutralises), 1 the target prompt, > 1 extrapolates along
e_tgt - e_neu, < 0 moves past neutral away from the target (an anti-expression the paper does
not evaluate; |alpha| <= 3; single expressions only). Models are local diffusers folders (or hub ids already in the local cache);
nothing is downloaded.
"""


def _add_editor_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", metavar="IMAGE", help="input image file(s)")
    p.add_argument("--model", required=True, help="Qwen-Image-Edit-2511 pipeline folder (diffusers layout)")
    p.add_argument("--lora", help="PixelSmile LoRA (.safetensors file or folder)")
    p.add_argument("--lora-scale", type=float, default=1.0, help="LoRA strength (default 1)")
    p.add_argument("--subject", default="person", choices=("person", "character"),
                   help="'person' for photos, 'character' for anime (default person)")
    p.add_argument("--preset", default="official", choices=("official", "facebench"),
                   help="settings the options below override one by one (default official)")
    p.add_argument("--size", type=int, help="square crop size (official 512)")
    p.add_argument("--output-size", type=int, help="denoised output size (official 1024; facebench: the crop size)")
    p.add_argument("--steps", type=int, help="denoising steps (official 50)")
    p.add_argument("--seed", type=int, help="noise seed (official 42)")
    p.add_argument("--generator-device", choices=("pipeline", "cpu"),
                   help="where the seeded noise generator lives (official: the pipeline's device)")
    p.add_argument("--guidance", type=float,
                   help="true classifier-free guidance scale; <= 1 = off (the official script's setting)")
    p.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when present)")
    p.add_argument("--dtype", choices=("bf16", "fp16", "fp32"), help="default bf16 on CUDA, fp32 on CPU")
    p.add_argument("--batch-size", type=int, help="rows per denoising batch (official 1; facebench: a whole sweep)")
    p.add_argument("--condition-area", type=int,
                   help="resize the image the VL text encoder sees to about this many pixels "
                        "(official: the crop as it is; facebench 147456 = 384^2)")
    p.add_argument("--mm-token-types", action=argparse.BooleanOptionalAction, default=None,
                   help="give image tokens Qwen2.5-VL's 3-D rotary positions (official: off, as the pipeline)")
    p.add_argument("--paste-back", action=argparse.BooleanOptionalAction, default=None,
                   help="put the edited square back into the input (official: off)")
    add_out(p, "output folder", required=True, type=str)


def register(subparsers: Any) -> None:
    """Add ``pixelsmile`` (edit, sweep) and ``train`` (pixelsmile) commands."""
    ps = subparsers.add_parser("pixelsmile", help="edit expressions with PixelSmile (needs the model weights)",
                               description=_EDITOR_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ps.add_subparsers(dest="pixelsmile_command", metavar="ACTION")
    edit = sub.add_parser("edit", help="one edit per image (an expression at an alpha, or a blend)",
                          description=_EDITOR_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_editor_options(edit)
    grp = edit.add_mutually_exclusive_group(required=True)
    grp.add_argument("-e", "--expression", help="one of the 12 FFE-Bench expressions")
    grp.add_argument("--blend", help="several expressions, e.g. 'happy=0.5,surprised=0.5' (paper sec. 5.6)")
    add_alphas(edit, "-a", "--alpha", single=True, default=1.0,
               help="intensity with --expression, any real value in [-3, 3] (default 1)")
    edit.set_defaults(func=_run_edit)
    sweep = sub.add_parser("sweep", help="a slider: several alphas of one expression, denoised in one batch",
                           description=_EDITOR_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_editor_options(sweep)
    sweep.add_argument("-e", "--expression", required=True, help="one of the 12 FFE-Bench expressions")
    add_alphas(sweep, "--alphas", default=(0.0, 0.5, 1.0, 1.5),
               help=f"alphas in [-3, 3]: {ALPHAS_SYNTAX} (default 0,0.5,1,1.5)")
    sweep.set_defaults(func=_run_sweep)
    ps.set_defaults(func=lambda args: (ps.print_help(), 2)[1])

    tr = subparsers.add_parser("train", help="train models (pixelsmile: a PixelSmile LoRA)")
    tsub = tr.add_subparsers(dest="train_command", metavar="MODEL")
    p = tsub.add_parser(
        "pixelsmile", help="symmetric joint training of a PixelSmile LoRA from a JSONL of triplets",
        description="Train a PixelSmile LoRA (paper sec. 4, appendix B). CONFIG is a YAML or JSON file with "
                    "at least model, data (JSONL triplets) and output_dir; see "
                    "facebench.pixelsmile.train.config for every option and its default. Multi-GPU: "
                    "accelerate launch -m facebench train pixelsmile CONFIG.")
    p.add_argument("config", metavar="CONFIG", help="training config (.yaml, .yml or .json)")
    p.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    p.add_argument("--resume", help="'latest' or a checkpoint folder to resume from")
    p.add_argument("--precompute-only", action="store_true", help="only write the precomputed samples")
    p.add_argument("--device", help="cpu or cuda (default: what accelerate picks)")
    p.set_defaults(func=_run_train)
    tr.set_defaults(func=lambda args: (tr.print_help(), 2)[1])


def _editor(args: argparse.Namespace) -> Any:
    from .editor import PixelSmileEditor

    return PixelSmileEditor(args.model, args.lora, preset=args.preset, lora_scale=args.lora_scale,
                            subject=args.subject, size=args.size, output_size=args.output_size, steps=args.steps,
                            seed=args.seed, true_cfg_scale=args.guidance, device=args.device, dtype=args.dtype,
                            batch_size=args.batch_size, paste_back=args.paste_back,
                            condition_area=args.condition_area, mm_token_types=args.mm_token_types,
                            generator_device=args.generator_device)


def _save(img: Any, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


def _each_image(args: argparse.Namespace, work: Any) -> int:
    """Run ``work(editor, image_path)`` for every image; failures are listed at the end."""
    from .loading import PixelSmileError

    try:
        editor = _editor(args)
    except (PixelSmileError, ValueError) as exc:
        print(f"facebench pixelsmile: error: {exc}", file=sys.stderr)
        return 2
    failed = []
    for name in args.images:
        try:
            for path in work(editor, name):
                print(path)
        except (ValueError, OSError) as exc:
            failed.append(f"{name}: {exc}")
    for line in failed:
        print(f"failed: {line}", file=sys.stderr)
    return 1 if failed else 0


def _negative_rows(expression: str, alphas: list[float]) -> list[dict[str, float]] | None:
    """Weight rows for the editor's full-range path when some alpha is negative, else None."""
    if not any(a < 0 for a in alphas):
        return None
    from ..edit.base import ALPHA_MAX
    from ..expressions import normalize_expression

    name = normalize_expression(expression)
    for a in alphas:
        if not abs(a) <= ALPHA_MAX:
            raise ValueError(f"alpha {a:g} for {name!r} is out of range [-{ALPHA_MAX:g}, {ALPHA_MAX:g}]")
    return [{name: a} for a in alphas]


def _run_rows(args: argparse.Namespace, rows: list[dict[str, float]]) -> int:
    def work(editor: Any, name: str) -> list[Path]:
        paths = []
        for image, info in editor.edit_weights(name, rows):
            label = "+".join(f"{k}={a:g}" for k, a in info["weights"].items())
            path = Path(args.out) / f"{Path(name).stem}_{label}.png"
            _save(image, path)
            paths.append(path)
        return paths

    return _each_image(args, work)


def _rows_or_check(args: argparse.Namespace, alphas: list[float], check: Callable[[], Any]) -> tuple[list[dict[str, float]] | None, Any]:
    """``(rows, None)`` for the editor's full-range path when some alpha is negative (never for a
    blend), else ``(None, check())`` with ``check`` validating the ordinary controls. A bad
    expression or alpha raises :class:`~facebench.base.errors.UserError` (one line, exit 2)."""
    try:
        rows = None if getattr(args, "blend", None) else _negative_rows(args.expression, alphas)
        return rows, (None if rows else check())
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _run_edit(args: argparse.Namespace) -> int:
    from ..edit.base import ExpressionControl

    rows, control = _rows_or_check(args, [args.alpha], lambda: (
        ExpressionControl.parse_blend(args.blend) if args.blend
        else ExpressionControl.single(args.expression, args.alpha)))
    if rows:
        return _run_rows(args, rows)

    def work(editor: Any, name: str) -> list[Path]:
        result = editor.edit(name, control)
        path = Path(args.out) / f"{Path(name).stem}_{control.label()}.png"
        _save(result.image, path)
        return [path]

    return _each_image(args, work)


def _run_sweep(args: argparse.Namespace) -> int:
    from ..edit.base import sweep_controls

    alphas = list(args.alphas)
    rows, _ = _rows_or_check(args, alphas, lambda: sweep_controls(args.expression, alphas))
    if rows:
        return _run_rows(args, rows)

    def work(editor: Any, name: str) -> list[Path]:
        paths = []
        for result in editor.sweep(name, args.expression, alphas):
            path = Path(args.out) / f"{Path(name).stem}_{result.control.label()}.png"
            _save(result.image, path)
            paths.append(path)
        return paths

    return _each_image(args, work)


def _run_train(args: argparse.Namespace) -> int:
    from .loading import PixelSmileError

    try:
        from .train.config import load_config
        from .train.trainer import PixelSmileTrainer

        cfg = load_config(args.config, device=args.device)
        trainer = PixelSmileTrainer(cfg)
        if args.precompute_only:
            r = trainer.precompute_report
            print(f"precomputed: {r.written} written, {r.skipped} up to date, {len(r.failed)} failed")
            return 1 if r.failed else 0
        if args.resume:
            trainer.load_checkpoint(args.resume)
        lora = trainer.train(until_step=args.max_steps)
    except PixelSmileError as exc:
        print(f"facebench train pixelsmile: error: {exc}", file=sys.stderr)
        return 2
    print(f"LoRA saved to {lora}")
    return 0
