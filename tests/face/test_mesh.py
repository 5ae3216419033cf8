"""478-point meshes on real photos, including every face of the group photo."""

from __future__ import annotations

import numpy as np
import pytest

from facebench.face.detect import detect_faces
from facebench.face.mesh import FACE_OVAL, MESH_MODELS, get_mesh_estimator, keypoints_from_mesh


def _inside(points: np.ndarray, box: np.ndarray, margin: float) -> np.ndarray:
    x0, y0, x1, y1 = box
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    return (
        (points[:, 0] >= x0 - mx) & (points[:, 0] <= x1 + mx)
        & (points[:, 1] >= y0 - my) & (points[:, 1] <= y1 + my)
    )


@pytest.fixture(scope="module")
def astronaut_mesh(sample_images):
    img = sample_images["astronaut"]
    det = detect_faces(img)[0]
    return det, get_mesh_estimator().estimate(img, det.box)


def test_astronaut_mesh_inside_box(astronaut_mesh):
    det, mesh = astronaut_mesh
    assert mesh.shape == (478, 3) and np.isfinite(mesh).all()
    # MediaPipe's box is tight (forehead cut, chin on the edge): allow 15% of the box size.
    assert _inside(mesh, det.box, 0.15).all()
    assert _inside(mesh, det.box, 0.0).mean() > 0.9
    # z is depth in pixels: the face is about as deep as a third to a whole of its width
    width = mesh[:, 0].max() - mesh[:, 0].min()
    assert 0.2 * width < np.ptp(mesh[:, 2]) < 1.2 * width
    # the nose tip is nearer the camera (smaller z) than the face-oval points
    assert mesh[1, 2] < mesh[list(FACE_OVAL), 2].min()


def test_mesh_keypoints_agree_with_detector(astronaut_mesh):
    det, mesh = astronaut_mesh
    kp = keypoints_from_mesh(mesh)
    iod = np.linalg.norm(kp[1] - kp[0])
    # eyes and nose from two independent models agree to a fifth of the eye distance
    assert np.linalg.norm(kp[:3] - det.keypoints[:3], axis=1).max() < 0.2 * iod
    # the estimated mouth corners land within a third of the eye distance of the mesh's
    assert np.linalg.norm(kp[3:] - det.keypoints[3:], axis=1).max() < 0.33 * iod


def test_group_photo_one_mesh_per_face(sample_images):
    img = sample_images["feat_group"]
    dets = detect_faces(img)
    meshes = get_mesh_estimator().estimate_all(img, np.stack([d.box for d in dets]))
    assert len(meshes) == 5
    centres = []
    for det, mesh in zip(dets, meshes):
        assert mesh is not None and mesh.shape == (478, 3)
        assert _inside(mesh, det.box, 0.15).mean() > 0.97, "mesh belongs to its own box"
        centres.append(mesh[:, :2].mean(0))
    centres = np.array(centres)
    dist = np.linalg.norm(centres[:, None] - centres[None], axis=2)
    assert dist[~np.eye(5, dtype=bool)].min() > 50, "five different faces"


def test_no_mesh_where_there_is_no_face(sample_images):
    sky = np.ascontiguousarray(sample_images["feat_group"][:150, 500:1000])
    assert get_mesh_estimator().estimate(sky, np.array([100.0, 20, 200, 120])) is None


def test_mesh_model_licence():
    assert "Apache-2.0" in MESH_MODELS.meta("mediapipe_face_mesh")["licence"]
