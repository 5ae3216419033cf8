"""``facebench edit``: change the expression of a face in a photo, one image or a series.

Everything is checked before anything is written (expression names, alphas, blend string, the
image, the face); images are written under temporary names and renamed when complete, so an
error never leaves a half-written output. Errors are one line on stderr with a non-zero status.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..base.cli import ALPHAS_SYNTAX, add_alphas, add_out, parse_alphas

_EPILOG = """\
expressions: happy sad angry fear surprised disgust confused contempt confident shy sleepy anxious

examples:
  facebench edit photo.jpg --expression happy --alpha 0.7 -o out/
  facebench edit photo.jpg -e sad,angry -o out/            (one edit per expression)
  facebench edit photo.jpg --expression surprised --alphas 0,0.25,...,1.5 -o out/
  facebench edit photo.jpg --expression happy -a 0.5 --blend surprised=0.5 -o out/
  facebench edit group.jpg --expression sad --all-faces -o out/

alpha: 0 <= alpha <= 3. For the offline editor alpha = 0 returns the photo unchanged, 1 is the full
expression and values above 1 exaggerate it. With --alphas, one image per value: every weight
(--alpha and --blend) is multiplied by it; '...' continues the step of the two values before it,
and start:stop:count gives count evenly spaced values (--intensity and --sweep are the old
names). Several expressions (-e sad,angry) make one edit (or series) each; --blend is mixed into
every one.
Output: one PNG per edit (<image>_f<face>_<weights>.png), a contact sheet <image>_sheet.png and
edits.csv (one row per written image; rows of earlier runs in the same folder are kept unless
their image was written again). Exit status: 0 ok, 1 no face, 2 bad arguments or unreadable image.
"""

_SLUG = re.compile(r"[^A-Za-z0-9.+-]+")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``edit`` subcommand."""
    p = subparsers.add_parser(
        "edit",
        help="change a face's expression with a continuous intensity (offline, CPU)",
        description="Edit the expression of the largest face (or the chosen faces) of IMAGE and "
        "write the results plus a labelled contact sheet to OUTDIR.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("image", metavar="IMAGE", help="photo to edit")
    p.add_argument("--expression", "-e", metavar="NAME[,NAME...]",
                   help="target expression(s), one of the 12 listed below or a comma list (one edit each)")
    add_alphas(p, "-a", "--alpha", single=True, help="intensity of --expression (default 1.0)")
    p.add_argument("--blend", metavar="NAME=ALPHA,...",
                   help="more expressions mixed in, e.g. 'sad=0.3' or 'happy=0.5,surprised=0.5'")
    add_alphas(p, "--alphas", help=f"a series of multipliers of every weight (one image each): {ALPHAS_SYNTAX}")
    faces = p.add_mutually_exclusive_group()
    faces.add_argument("--face-index", type=int, default=None, metavar="N",
                       help="edit the N-th largest face (0 = largest, the default)")
    faces.add_argument("--all-faces", action="store_true", help="edit every face found")
    p.add_argument("--editor", default="offline", help="registered editor name (default: offline)")
    add_out(p, "folder for the results", required=True, metavar="OUTDIR")
    p.add_argument("--cell", type=int, default=256, metavar="PX",
                   help="width of one contact-sheet cell in pixels (default 256)")
    p.set_defaults(func=run)


def parse_sweep(text: str) -> list[float]:
    """``"0,0.25,...,1"`` -> ``[0, 0.25, 0.5, 0.75, 1]``: :func:`facebench.base.cli.parse_alphas`
    as a list. Raises ``ValueError`` (one line)."""
    return list(parse_alphas(text, what="--alphas"))


def _slug(label: str) -> str:
    return _SLUG.sub("-", label.replace("=", "")).strip("-")


def _controls(args: argparse.Namespace) -> tuple[list[Any], list[float] | None]:
    """The controls at multiplier 1 (one per expression of ``-e a,b``; the blend alone without
    ``-e``) and the series' multipliers (None without --alphas)."""
    from .base import ExpressionControl

    if not args.expression and not args.blend:
        raise ValueError("give --expression NAME (and optionally --alpha, --blend) or --blend")
    if args.alpha is not None and not args.expression:
        raise ValueError("--alpha needs --expression")
    blend = list(ExpressionControl.parse_blend(args.blend).weights) if args.blend else []
    names = [e.strip() for e in (args.expression or "").split(",") if e.strip()]
    if args.expression and not names:
        raise ValueError(f"--expression {args.expression!r} names no expression")
    alpha = 1.0 if args.alpha is None else args.alpha
    bases = [ExpressionControl.blend([(n, alpha), *blend]) for n in names] or [ExpressionControl.blend(blend)]
    values = None if args.alphas is None else list(args.alphas)
    for base in bases:
        for v in values or []:
            base.scaled(v)  # validates every alpha before any work is done
    return bases, values


def _write_png_atomic(img: Any, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        img.save(tmp, format="PNG")
        os.chmod(tmp, _file_mode())  # mkstemp makes 0600; outputs get the usual umask mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _file_mode() -> int:
    """0666 less the process umask: the mode ``open()`` would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def run(args: argparse.Namespace) -> int:
    """Entry point of ``facebench edit``; returns the exit status."""
    from ..base.imageio import ImageError, load_image

    def fail(msg: str, code: int) -> int:
        print(f"facebench edit: error: {msg}", file=sys.stderr)
        return code

    try:
        bases, values = _controls(args)
        if args.cell < 32:
            raise ValueError(f"--cell {args.cell} is too small (at least 32)")
        from .base import get_editor

        editor = get_editor(args.editor)
    except (ValueError, KeyError) as exc:
        return fail(str(exc), 2)
    try:
        image = load_image(args.image)
    except ImageError as exc:
        return fail(str(exc), 2)
    from .base import NoFaceError

    try:
        outputs, boxes = _edit_all(editor, image, bases, values, args)
    except NoFaceError as exc:
        return fail(str(exc) if exc.source == str(args.image) else f"{args.image}: {exc}", 1)
    except ValueError as exc:  # e.g. an alpha above this editor's own range
        return fail(f"{args.image}: {exc}", 2)
    return _write(args, image, outputs, boxes)


def _edit_all(editor: Any, image: Any, bases: list[Any], values: list[float] | None, args: argparse.Namespace):
    """Run every edit in memory: [(control, face indices, image, infos)], face boxes."""
    from ..face import analyze
    from .base import NoFaceError

    faces = analyze(image, parts=("detection", "mesh", "mask"))
    if not faces:
        raise NoFaceError(str(args.image))
    if args.all_faces:
        chosen = list(range(len(faces)))
    else:
        idx = 0 if args.face_index is None else args.face_index
        if not 0 <= idx < len(faces):
            raise NoFaceError(str(args.image), f"--face-index {idx} is out of range: {len(faces)} face(s) found "
                              f"(0..{len(faces) - 1})")
        chosen = [idx]
    results = []
    for base in bases:
        results.extend(_edit_faces(editor, image, base, values, faces, chosen))
    return results, [faces[i].detection.box for i in chosen]


def _edit_faces(editor: Any, image: Any, base: Any, values: list[float] | None, faces: list, chosen: list[int]):
    """One control (or its sweep) on the chosen faces: [(control, face indices, image, infos)]."""
    # several faces: edit them one after the other into the same picture
    series: list[list[Any]] = []
    current = [image] * (len(values) if values else 1)
    for i in chosen:
        if values is None:
            res = [editor.edit(current[0], base, face=faces[i])]
        elif len(chosen) == 1:  # the editor shares its set-up over the sweep
            res = editor.sweep(image, base, values, face=faces[i])
        else:
            res = [editor.edit(cur, base.scaled(v), face=faces[i]) for cur, v in zip(current, values)]
        current = [r.image for r in res]
        series.append(res)
    results = []
    for k, img in enumerate(current):
        infos = [s[k].info for s in series]
        results.append((series[0][k].control, chosen, img, infos))
    return results


def _write(args: argparse.Namespace, image: Any, results: list, boxes: list) -> int:
    from PIL import Image

    from .sheet import contact_sheet, face_crop_box

    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"facebench edit: {out}: cannot create the output folder ({exc.strerror or exc})", file=sys.stderr)
        return 1
    stem = Path(args.image).stem
    rows = []
    for control, chosen, img, infos in results:
        faces_tag = "all" if args.all_faces else str(chosen[0])
        path = out / f"{stem}_f{faces_tag}_{_slug(control.label())}.png"
        _write_png_atomic(Image.fromarray(img), path)
        rows.append({"file": path.name, "faces": " ".join(map(str, chosen)), "weights": control.label(),
                     "editor": args.editor,
                     "clamped_vertices": sum(int(i.get("clamped_vertices", 0)) for i in infos)})
    crop = face_crop_box(boxes, image.shape[:2])
    sheet = contact_sheet([image] + [r[2] for r in results], ["input"] + [r[0].label() for r in results],
                          crop=crop, cell=args.cell, title=f"{Path(args.image).name} - editor {args.editor}")
    sheet_path = out / f"{stem}_sheet.png"
    _write_png_atomic(sheet, sheet_path)
    kept = _write_table(out / "edits.csv", rows)
    print(f"wrote {len(rows)} image(s), {sheet_path} and {out / 'edits.csv'}"
          + (f" ({kept} row(s) of earlier runs kept)" if kept else ""))
    return 0


def _write_table(path: Path, rows: list[dict[str, Any]]) -> int:
    """Write ``rows`` to the CSV ``path``, keeping the rows of an earlier run whose file was not
    written again (appending, in effect); atomic. Returns how many earlier rows were kept."""
    old: list[dict[str, Any]] = []
    if path.is_file():
        with open(path, newline="") as fh:
            new_files = {r["file"] for r in rows}
            old = [r for r in csv.DictReader(fh) if r.get("file") not in new_files]
    fields = list(dict.fromkeys([*rows[0], *(k for r in old for k in r if k)]))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".csv", dir=path.parent)
    with os.fdopen(fd, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(old + rows)
    os.chmod(tmp, _file_mode())
    os.replace(tmp, path)
    return len(old)
