"""Contact sheets of the offline editor: every bundled portrait, the 12 expressions (rows) x a few
alphas (columns), cropped to the face. Look at them before and after every renderer change.

    python scripts/contact_sheets.py [--out /tmp/sheets] [--alphas 0,0.5,1,1.5] [--photos astronaut,feat_happy]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from facebench.edit import ExpressionControl, get_editor
from facebench.edit.sheet import contact_sheet, face_crop_box
from facebench.expressions import EXPRESSIONS
from facebench.base.imageio import load_image
from facebench.samples import portrait_paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("sheets"), help="folder for the PNGs")
    ap.add_argument("--alphas", default="0,0.5,1,1.5")
    ap.add_argument("--photos", default=",".join(portrait_paths()), help="comma-separated sample names")
    ap.add_argument("--cell", type=int, default=160, help="pixels per image")
    args = ap.parse_args()
    alphas = [float(a) for a in args.alphas.split(",")]
    paths = portrait_paths()
    unknown = [p for p in args.photos.split(",") if p not in paths]
    if unknown:
        print(f"--photos: unknown sample(s) {', '.join(unknown)}; known: {', '.join(paths)}")
        return 2
    editor = get_editor("offline")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.photos.split(","):
        img = load_image(paths[name])
        prep = editor.prepare(img)
        crop = face_crop_box([prep.face.box], img.shape[:2], pad=0.2)
        images, labels = [], []
        for e in EXPRESSIONS:
            for a in alphas:
                images.append(editor.render(prep, ExpressionControl.single(e, a)).image)
                labels.append(f"{e} {a:g}")
        sheet = contact_sheet(images, labels, crop=crop, cell=args.cell, cols=len(alphas),
                              title=f"{name}: offline editor {editor.version}")
        path = args.out / f"{name}.png"
        sheet.save(path)
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
