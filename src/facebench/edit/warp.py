"""Piecewise-affine image warp over a triangulated face mesh, with fixed anchors around it.

Set-up (:class:`MeshWarp`, once per face): the source mesh points plus a ring of fixed anchor
points around the face are triangulated (Delaunay, on the source positions, so the triangulation is
planar and never folded to begin with). Rendering (:meth:`MeshWarp.render`) takes moved points,
rasterises the moved triangles into a triangle-index map and samples every output pixel from the
source through the affine map of its triangle (backward mapping, bilinear). Outside the anchor
polygon nothing is touched, and because the anchors do not move the warp fades continuously to
the identity at the border: no seam, no tearing.

Folds: before rendering, :meth:`MeshWarp.unfold` shrinks the displacement of vertices of
triangles that would flip or collapse (area below ``min_area_ratio`` of the source area).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.spatial import Delaunay

from . import kernels
from .tears import soften_tears, tear_strength


@dataclass
class MeshWarp:
    """A warp set up for one image and one face mesh.

    ``points``: (N, 2) source pixel positions that may move; ``anchors``: (K, 2) fixed positions
    enclosing them; ``shape``: (H, W) of the image.
    """

    points: np.ndarray
    anchors: np.ndarray
    shape: tuple[int, int]
    openings: tuple[tuple[int, ...], ...] = ()  # point indices around openings that may close
    sliver: float = 1.0  # triangles smaller than this (pixels^2) may fold: a glitch of that size
    min_area_ratio: float = 0.05
    tri: np.ndarray = field(init=False)
    roi: tuple[int, int, int, int] = field(init=False)  # x0, y0, x1, y1 (exclusive)
    region: np.ndarray = field(init=False)  # (H, W) bool: pixels the warp may change

    def __post_init__(self) -> None:
        pts = np.vstack([self.points, self.anchors]).astype(np.float64)
        self._all = pts
        self.n = len(self.points)
        self._delaunay = Delaunay(pts)
        self._located: tuple[bytes, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self.tri = self._delaunay.simplices.astype(np.int32).copy()
        # orient all source triangles counter-clockwise in (x, y-down) image coordinates
        area = _signed_area(pts, self.tri)
        flip = area < 0
        self.tri[flip] = self.tri[flip][:, [0, 2, 1]]
        self.src_area = np.abs(area)
        corners = pts[self.tri]  # (T, 3, 2)
        self._src_lo = corners.min(1) - 1.0
        self._src_hi = corners.max(1) + 1.0
        # slivers (where contours nearly touch, e.g. a closed mouth's lips) may fold harmlessly:
        # they cover a few pixels; only triangles with real area are kept from folding
        self.checked = self.src_area > max(1.0, self.sliver)
        # triangles spanning an opening (all corners on a mouth's or an eye's rim) may flatten
        # to nothing: that is the lips or lids meeting, not a fold
        self._rim = np.zeros(len(pts), bool)  # rims keep their motion; the skin around gives way
        for group in self.openings:
            self.checked &= ~np.isin(self.tri, np.asarray(group)).all(axis=1)
            self._rim[np.asarray(group, dtype=int)] = True
        h, w = self.shape
        hull = cv2.convexHull(self.anchors.astype(np.float32)).reshape(-1, 2)
        x0, y0 = np.floor(hull.min(0)).astype(int)
        x1, y1 = np.ceil(hull.max(0)).astype(int) + 1
        self.roi = (max(0, x0), max(0, y0), min(w, x1), min(h, y1))
        region = np.zeros((h, w), np.uint8)
        cv2.fillConvexPoly(region, np.round(hull).astype(np.int32), 1, lineType=cv2.LINE_8)
        self.region = region.astype(bool)
        self._hull = hull
        # vertex adjacency of the triangulation (for smoothing displacements)
        from scipy.sparse import coo_matrix

        e = np.vstack([self.tri[:, [0, 1]], self.tri[:, [1, 2]], self.tri[:, [2, 0]]])
        e = np.vstack([e, e[:, ::-1]])
        n_all = len(pts)
        adj = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n_all, n_all)).tocsr()
        adj.data[:] = 1.0  # duplicates summed: back to 0/1
        self._adj = adj
        self._deg = np.asarray(adj.sum(1)).ravel()

    # -----------------------------------------------------------------------------------------
    def folded(self, moved: np.ndarray) -> np.ndarray:
        """Indices of triangles that flip or collapse when ``points`` move to ``moved``."""
        dst = np.vstack([np.asarray(moved, np.float64), self.anchors])
        area = _signed_area(dst, self.tri)
        return np.flatnonzero(self.checked & (area < self.min_area_ratio * self.src_area))

    def unfold(self, moved: np.ndarray, max_iter: int = 80) -> tuple[np.ndarray, int]:
        """Remove folds: returns corrected points and the number of vertices whose motion changed.

        Vertices of folding triangles first get their displacement relaxed toward the mean of
        their neighbours' (Jacobi smoothing: keeps the overall motion, removes the local shear);
        the rims of openings keep theirs (the skin around them gives way). Whatever still folds
        after ``max_iter`` rounds has its motion shrunk until it does not.
        """
        src = self._all
        disp = np.vstack([np.asarray(moved, np.float64) - self.points, np.zeros((len(self.anchors), 2))])
        movable = np.arange(len(src)) < self.n
        touched = np.zeros(len(src), bool)
        ok_src = self.checked
        for _ in range(max_iter):
            bad = ok_src & (_signed_area(src + disp, self.tri) < self.min_area_ratio * self.src_area)
            if not bad.any():
                break
            verts = np.unique(self.tri[bad])
            verts = verts[movable[verts] & ~self._rim[verts]]
            if len(verts) == 0:
                break
            mean = (self._adj[verts] @ disp) / self._deg[verts, None]
            disp[verts] = 0.5 * disp[verts] + 0.5 * mean
            touched[verts] = True
        scale = np.ones(len(src))
        for _ in range(40):  # last resort: shrink what still folds
            bad = ok_src & (_signed_area(src + disp * scale[:, None], self.tri) < self.min_area_ratio * self.src_area)
            if not bad.any():
                break
            verts = np.unique(self.tri[bad])
            verts = verts[movable[verts]]
            scale[verts] *= 0.7
            touched[verts] = True
        else:
            bad = ok_src & (_signed_area(src + disp * scale[:, None], self.tri) < self.min_area_ratio * self.src_area)
            verts = np.unique(self.tri[bad])
            scale[verts[movable[verts]]] = 0.0
        out = self.points + (disp * scale[:, None])[: self.n]
        return out, int(touched[: self.n].sum())

    def locate(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For source positions ``pts``: (inside mask, corner indices (n, 3), barycentric
        coordinates (n, 3)) of the source triangle each lies in (those outside: not inside).

        Barycentrics ``(b0, b1, 1 - b0 - b1)`` from the 2x2 inverse of ``[c0 - c2, c1 - c2]``
        against each triangle whose box holds the point; a point takes the triangle where its
        smallest coordinate is largest (inside when that is >= -1e-9: on an edge either side gives the same place).
        No LAPACK: ``scipy.spatial.Delaunay.find_simplex`` factorises every triangle through
        LAPACK first, which costs seconds when BLAS threads wait on a busy machine. Cached for
        the last ``pts`` given (a face's own mesh, once per render)."""
        pts = np.asarray(pts, np.float64)
        key = pts.tobytes()
        if self._located is not None and self._located[0] == key:
            return self._located[1]
        # only triangles whose (padded) box holds the point can hold it
        cand = ((pts[:, None, 0] >= self._src_lo[None, :, 0]) & (pts[:, None, 0] <= self._src_hi[None, :, 0])
                & (pts[:, None, 1] >= self._src_lo[None, :, 1]) & (pts[:, None, 1] <= self._src_hi[None, :, 1]))
        i, t = np.nonzero(cand)
        c = self._all[self.tri[t]]  # (m, 3, 2)
        e0, e1 = c[:, 0] - c[:, 2], c[:, 1] - c[:, 2]
        det = e0[:, 0] * e1[:, 1] - e1[:, 0] * e0[:, 1]
        det = np.where(det == 0, np.nan, det)
        px = pts[i, 0] - c[:, 2, 0]
        py = pts[i, 1] - c[:, 2, 1]
        b0 = (e1[:, 1] * px - e1[:, 0] * py) / det
        b1 = (-e0[:, 1] * px + e0[:, 0] * py) / det
        low = np.nan_to_num(np.minimum(np.minimum(b0, b1), 1 - b0 - b1), nan=-np.inf)
        # per point, the candidate with the largest smallest coordinate
        order = np.lexsort((-low, i))
        first = order[np.r_[True, i[order][1:] != i[order][:-1]]] if len(i) else order
        best = np.full(len(pts), -1)
        best_low = np.full(len(pts), -np.inf)
        best[i[first]] = first
        best_low[i[first]] = low[first]
        ok = best_low >= -1e-9
        pick = best[ok]
        b0, b1 = b0[pick], b1[pick]
        found = (ok, self.tri[t[pick]], np.column_stack([b0, b1, 1 - b0 - b1]))
        self._located = (key, found)
        return found

    def forward(self, pts: np.ndarray, moved: np.ndarray) -> np.ndarray:
        """Where source positions ``pts`` (any points, e.g. vertices left out of the warp) go when
        ``points`` move to ``moved``: barycentric coordinates in their source triangle carried to
        the moved triangle. Points outside the triangulation do not move."""
        pts = np.asarray(pts, np.float64)
        dst = np.vstack([np.asarray(moved, np.float64), self.anchors])
        ok, verts, bary = self.locate(pts)
        out = pts.copy()
        if ok.any():
            out[ok] = np.einsum("ni,nij->nj", bary, dst[verts])
        return out

    def maps(self, moved: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Backward maps (map_x, map_y) over the ROI and the triangle-index map (-1 = none)."""
        dst = np.vstack([np.asarray(moved, np.float64), self.anchors])
        src = self._all
        rx0, ry0, rx1, ry1 = self.roi
        tid = np.full((ry1 - ry0, rx1 - rx0), -1, np.int32)
        off = np.array([rx0, ry0], np.float64)
        # draw far triangles first; a pixel on a shared edge takes the last triangle drawn
        polys = np.round((dst[self.tri] - off) * 16).astype(np.int32)  # 4 fractional bits
        fill, line8 = cv2.fillConvexPoly, cv2.LINE_8  # positional arguments: ~1,000 calls per render
        for k, poly in enumerate(list(polys)):
            fill(tid, poly, k, line8, 4)
        coef = np.empty((len(self.tri), 2, 3))  # per triangle, the affine map from dst to src
        kernels.affine_dst_to_src(dst, src, self.tri, coef)
        # per pixel, its triangle's affine map clipped to that triangle's source box: a triangle
        # squashed to (almost) nothing -- lips or lids meeting -- has an affine map that flings
        # its few pixels far away; within the box every pixel samples near its own source
        # triangle (a no-op for the others, whose pixels map inside it anyway)
        mx = np.empty(tid.shape, np.float32)
        my = np.empty(tid.shape, np.float32)
        kernels.backward_maps(tid, coef, self._src_lo, self._src_hi, int(rx0), int(ry0), mx, my)
        return mx, my, tid

    def render(self, image: np.ndarray, moved: np.ndarray) -> np.ndarray:
        """The image warped so that ``points`` land on ``moved`` (outside the region: unchanged)."""
        mx, my, _ = self.maps(moved)
        return self.remap(image, mx, my)

    def remap(self, image: np.ndarray, mx: np.ndarray, my: np.ndarray) -> np.ndarray:
        """Sample ``image`` at (mx, my) inside the ROI and paste the result within the region."""
        rx0, ry0, rx1, ry1 = self.roi
        out = image.copy()
        kernels.copy_where(out[ry0:ry1, rx0:rx1], self._sample(image, mx, my), self.region, int(rx0), int(ry0))
        return out

    def render_canvas(self, image: np.ndarray, moved: np.ndarray,
                      seams_in: tuple[int, int, int, int] | None = None, soften: float = 1.0) -> np.ndarray:
        """Float32 working copy of :meth:`render`'s result for retouching, made only inside the
        ROI (the warped image within the region, ``image`` around it); outside the ROI it is 0.
        Only the region is kept in the end (:meth:`finish`), and the region lies inside the ROI,
        so whole-image conversions are not needed. Within the image box ``seams_in`` (x0, y0, x1,
        y1; lips pressed together), a seam where the warp tears with a hard step in colour is
        softened (:mod:`facebench.edit.tears`, its strength scaled by ``soften`` in [0, 1]);
        elsewhere, and without a box, the pixels are :meth:`render`'s."""
        mx, my, _ = self.maps(moved)
        rx0, ry0, rx1, ry1 = self.roi
        canvas = np.zeros(image.shape, np.float32)
        kernels.warped_canvas(canvas, image, self._sample(image, mx, my), self.region, int(rx0), int(ry0))
        if seams_in is not None:
            x0, y0 = max(int(seams_in[0]), rx0), max(int(seams_in[1]), ry0)
            x1, y1 = min(int(seams_in[2]), rx1), min(int(seams_in[3]), ry1)
            if x1 > x0 and y1 > y0:
                win = (slice(y0 - ry0, y1 - ry0), slice(x0 - rx0, x1 - rx0))
                strength = tear_strength(canvas[y0:y1, x0:x1], mx[win], my[win]) * self.region[y0:y1, x0:x1]
                strength *= np.float32(np.clip(soften, 0.0, 1.0))
                soften_tears(canvas, strength, (x0, y0))
        return canvas

    def finish(self, image: np.ndarray, canvas: np.ndarray) -> np.ndarray:
        """``image`` with the region replaced by the rounded, clipped ``canvas`` (uint8)."""
        out = image.copy()
        kernels.paste_rounded(out, canvas, self.region, np.array(self.roi, np.int64))
        return out

    def _sample(self, image: np.ndarray, mx: np.ndarray, my: np.ndarray) -> np.ndarray:
        """``image`` sampled at (mx, my) (bilinear, reflected at the border): the warped ROI."""
        return cv2.remap(image, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def _signed_area(pts: np.ndarray, tri: np.ndarray) -> np.ndarray:
    a = pts[tri[:, 0]]
    b = pts[tri[:, 1]]
    c = pts[tri[:, 2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def anchor_ring(mesh_xy: np.ndarray, oval: tuple[int, ...], margin: float, n: int = 48) -> np.ndarray:
    """``n`` fixed points around a face: the face outline pushed out from its centre by
    ``margin`` times its size (a ring that the warp fades to zero on)."""
    hull = cv2.convexHull(mesh_xy.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    centre = mesh_xy[list(oval)].mean(0)
    size = float(np.sqrt(cv2.contourArea(hull.astype(np.float32))))
    ang = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rays = np.stack([np.cos(ang), np.sin(ang)], 1)
    # distance from the centre to the hull along each ray, then push out
    rel = hull - centre
    pa = np.arctan2(rel[:, 1], rel[:, 0])
    pr = np.linalg.norm(rel, axis=1)
    order = np.argsort(pa)
    pa, pr = pa[order], pr[order]
    pa = np.concatenate([pa - 2 * np.pi, pa, pa + 2 * np.pi])
    pr = np.concatenate([pr, pr, pr])
    r = np.interp(ang, pa, pr)
    # more room below the chin (y grows down): a dropped jaw needs it
    extra = margin * size * (1.0 + 1.2 * np.clip(rays[:, 1], 0, 1))
    return centre + rays * (r + extra)[:, None]
