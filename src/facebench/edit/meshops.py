"""Operations on a face mesh being moved: lips and lids that meet but never cross, thinning of
crowded vertices, the mouth's opening.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from . import landmarks as lm
from .retouch import polygon_area

#: Facing pairs (upper, lower) of the openings: inner lips and the two eyes' lids.
_PAIRS = (
    (lm.LIPS_INNER_UPPER[1:-1], lm.LIPS_INNER_LOWER[1:-1][::-1], (78, 308)),
    (lm.EYE_R_UPPER, lm.EYE_R_LOWER, lm.EYE_R_CORNERS),
    (lm.EYE_L_UPPER, lm.EYE_L_LOWER, lm.EYE_L_CORNERS),
)


def no_crossing(target: np.ndarray, src: np.ndarray) -> np.ndarray:
    """Lips and lids meet but never pass each other. In the frame of the opening (along the
    corner-to-corner line, and across it, so head roll does not matter), a lower-edge point that
    would end above the upper edge goes halfway back to it, then an upper-edge point that would
    end below the (corrected) lower edge is put on that."""
    out = target.copy()
    for upper, lower, corners in _PAIRS:
        u, lo = np.array(upper), np.array(lower)
        along = src[corners[1]] - src[corners[0]]
        norm = float(np.hypot(*along))
        if norm < 1e-9:
            continue
        t = along / norm
        n = np.array([-t[1], t[0]])
        if n[1] < 0:
            n = -n  # across the opening, pointing down the face
        ends = out[list(corners)]
        ua, un = np.r_[ends[:1] @ t, out[u] @ t, ends[1:] @ t], np.r_[ends[:1] @ n, out[u] @ n, ends[1:] @ n]
        la, ln = np.r_[ends[:1] @ t, out[lo] @ t, ends[1:] @ t], np.r_[ends[:1] @ n, out[lo] @ n, ends[1:] @ n]
        ou, ol = np.argsort(ua), np.argsort(la)
        up_at_lower = np.interp(la[1:-1], ua[ou], un[ou])
        meet = (ln[1:-1] + up_at_lower) / 2  # where the two edges meet: halfway
        fix = ln[1:-1] < up_at_lower
        out[lo[fix]] += np.outer(meet[fix] - ln[1:-1][fix], n)
        ln[1:-1] = np.where(fix, meet, ln[1:-1])
        low_at_upper = np.interp(ua[1:-1], la[ol], ln[ol])
        fix = un[1:-1] > low_at_upper
        out[u[fix]] -= np.outer(un[1:-1][fix] - low_at_upper[fix], n)
    return out


#: Vertices kept first when crowded ones are thinned out: the contours retouching relies on.
_ALWAYS = lm.LIPS_INNER + lm.LIPS_OUTER + lm.EYE_R + lm.EYE_L
_PRIORITY = _ALWAYS + lm.BROW_R + lm.BROW_L + lm.FACE_OVAL + lm.NOSE_TIP + lm.NOSE_BRIDGE


def thin(xy: np.ndarray, candidates: np.ndarray, min_sep: float) -> np.ndarray:
    """Greedy subset of ``candidates`` with no two closer than ``min_sep`` pixels, contour
    vertices first (sorted indices). Closeness is ``sqrt(dx * dx + dy * dy) < min_sep``, measured
    on the pairs a k-d tree finds within ``min_sep`` (plus a slack far above its rounding):
    the few close pairs rather than every pair."""
    cand = set(int(i) for i in candidates)
    # the lips and lids are always kept: a closed mouth's upper and lower inner lips coincide,
    # and they must still be able to part
    kept = [i for i in dict.fromkeys(_ALWAYS) if i in cand]
    order = [i for i in dict.fromkeys(_PRIORITY) if i in cand] + sorted(cand - set(_PRIORITY))
    pts = np.asarray(xy, np.float64)
    pairs = cKDTree(pts).query_pairs(min_sep * (1 + 1e-9) + 1e-12, output_type="ndarray")
    d = pts[pairs[:, 0]] - pts[pairs[:, 1]]
    close = pairs[np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]) < min_sep].tolist()
    near: list[list[int]] = [[] for _ in range(len(pts))]  # each vertex's close neighbours
    for a, b in close:
        near[a].append(b)
        near[b].append(a)
    # too_near[i]: some kept vertex lies closer than min_sep (updated as vertices are kept)
    too_near = [False] * len(pts)
    for k in kept:
        for j in near[k]:
            too_near[j] = True
    taken = set(kept)
    for i in order:
        if i in taken or too_near[i]:
            continue
        kept.append(i)
        taken.add(i)
        for j in near[i]:
            too_near[j] = True
    return np.array(sorted(kept))


def mouth_opening(mesh: np.ndarray) -> tuple[float, float]:
    """(area of the inner-lip polygon, mouth width), pixels."""
    inner = list(lm.LIPS_INNER_UPPER) + list(lm.LIPS_INNER_LOWER[1:-1])
    return polygon_area(mesh[inner, :2]), float(np.linalg.norm(mesh[61, :2] - mesh[291, :2]))


def soft_limit(moves: np.ndarray, room: np.ndarray, knee: float, cap: float) -> np.ndarray:
    """Each row of ``moves`` (N, 2) shortened so that its length stays below ``cap * room`` (one
    ``room`` per row), smoothly: with ``q = |m| / room``, rows with ``q <= knee`` are returned
    unchanged and the others get length ``room * (knee + (cap - knee) tanh((q - knee) / (cap - knee)))``
    (continuous with slope 1 at the knee, approaching ``cap`` from below), same direction."""
    m = np.asarray(moves, np.float64)
    r = np.maximum(np.asarray(room, np.float64), 1e-9)
    q = np.linalg.norm(m, axis=1) / r
    over = q > knee
    if not over.any():
        return m
    span = cap - knee
    q2 = knee + span * np.tanh((q[over] - knee) / span)
    out = m.copy()
    out[over] *= (q2 / q[over])[:, None]
    return out
