"""Contact sheets: a labelled grid of images so a person can see an edit series at a glance."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def face_crop_box(boxes: Sequence[np.ndarray], shape: tuple[int, int], pad: float = 0.45
                  ) -> tuple[int, int, int, int]:
    """A square crop (x0, y0, x1, y1) around the union of face ``boxes`` with ``pad`` of its size
    on every side, kept inside an image of ``shape`` (H, W) where possible."""
    b = np.asarray(boxes, float).reshape(-1, 4)
    x0, y0 = b[:, 0].min(), b[:, 1].min()
    x1, y1 = b[:, 2].max(), b[:, 3].max()
    side = max(x1 - x0, y1 - y0) * (1 + 2 * pad)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h, w = shape
    side = min(side, max(h, w))
    left = int(round(np.clip(cx - side / 2, 0, max(w - side, 0))))
    top = int(round(np.clip(cy - side / 2, 0, max(h - side, 0))))
    s = int(round(side))
    return left, top, min(left + s, w), min(top + s, h)


def contact_sheet(
    images: Sequence[np.ndarray],
    labels: Sequence[str],
    *,
    crop: tuple[int, int, int, int] | None = None,
    cell: int = 256,
    cols: int | None = None,
    title: str | None = None,
) -> Image.Image:
    """A grid of ``images`` (RGB uint8), each cropped to ``crop`` if given, resized to ``cell``
    pixels wide, with its label underneath and an optional title on top."""
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if not images:
        raise ValueError("a contact sheet needs at least one image")
    n = len(images)
    cols = cols or min(n, 8)
    rows = (n + cols - 1) // cols
    font = ImageFont.load_default(size=max(10, cell // 16))
    label_h = int(cell / 16 * 1.8) + 4
    title_h = label_h + 6 if title else 0
    tiles = []
    for im in images:
        tile = Image.fromarray(np.asarray(im, np.uint8))
        if crop is not None:
            tile = tile.crop(crop)
        h = max(1, round(tile.height * cell / tile.width))
        tiles.append(tile.resize((cell, h), Image.LANCZOS))
    cell_h = max(t.height for t in tiles)
    sheet = Image.new("RGB", (cols * cell, title_h + rows * (cell_h + label_h)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((6, 4), title, fill=(0, 0, 0), font=font)
    for i, (tile, text) in enumerate(zip(tiles, labels)):
        r, c = divmod(i, cols)
        x, y = c * cell, title_h + r * (cell_h + label_h)
        sheet.paste(tile, (x, y))
        draw.text((x + 4, y + cell_h + 2), _fit(draw, text, font, cell - 8), fill=(0, 0, 0), font=font)
    return sheet


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont, width: int) -> str:
    """``text`` shortened with an ellipsis until it fits ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."
