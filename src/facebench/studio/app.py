"""The studio web app (Flask): open a photo, drag expression sliders, read the instruments.

Routes::

    GET  /                               the page (sliders, picture, judge bars, identity, strip)
    GET  /api/thumb?ref=R                a listed photo's thumbnail
    POST /api/open       ref=R           open a listed photo -> {key, name, faces: [{index, box}]}
    POST /api/upload     file=...        open an uploaded photo (size and pixel limits)
    GET  /api/photo/<key>.jpg            the photo at working size
    GET  /api/render?photo&face&c&client&seq    the edit as JPEG (204: overtaken by a newer one)
    GET  /api/readout?photo&face&c&client&seq   judge bars + identity as JSON (204: overtaken)
    GET  /api/strip?photo&face&e[&download=1]  the sweep strip of expression e (PNG)
    GET  /api/download.png|.json?photo&face&c  the edit as PNG (control in its metadata) / sidecar
    POST /api/jobs  GET /api/jobs/<id>  GET /api/jobs/<id>.jpg   queue mode (slow editors)

Every error is JSON ``{"error": "<one line>"}`` with a 4xx status and the server keeps serving.
Pages carry the study app's strict headers (:func:`facebench.study.app.security_headers`) with
``blob:`` images (the edit is shown from a fetched blob) and ``connect-src 'self'``. POSTs from
another origin are refused.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import numpy as np
from flask import Flask, Response, abort, jsonify, render_template, request, send_file
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from ..expressions import EXPRESSIONS
from ..study.app import CSP, security_headers
from .controls import parse_sliders, slider_text, to_control
from .jobs import JobQueue
from .live import LatestWins, LiveRenderer
from .log import RequestLog
from .photos import Photo, PhotoError, Photos
from .readout import Instruments

_HERE = Path(__file__).parent
STUDIO_CSP = CSP.replace("img-src 'self'", "img-src 'self' blob:") + "; connect-src 'self'"
#: Alphas of the sweep strip (up to the editor's limit).
STRIP_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


def _jpeg(img: np.ndarray | Image.Image, quality: int = 90) -> Response:
    buf = io.BytesIO()
    (img if isinstance(img, Image.Image) else Image.fromarray(img)).save(buf, "JPEG", quality=quality)
    return Response(buf.getvalue(), mimetype="image/jpeg")


def _attachment(data: bytes | str, mimetype: str, filename: str) -> Response:
    resp = Response(data, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


def _photo_json(p: Photo) -> dict[str, Any]:
    return {"key": p.key, "name": p.name, "width": int(p.image.shape[1]), "height": int(p.image.shape[0]),
            "original": list(p.original_size),
            "faces": [{"index": i, "box": [round(v, 1) for v in b]} for i, b in enumerate(p.boxes)]}


def create_app(editor: Any, photos: Photos, judge: Any, *, log: RequestLog | None = None,
               editor_name: str = "offline", max_upload_mb: float = 32.0,
               initial: str | None = None) -> Flask:
    """The Flask app for one editor, photo source and judge (``initial``: a ref opened first)."""
    app = Flask("facebench.studio", template_folder=str(_HERE / "templates"),
                static_folder=str(_HERE / "static"))
    app.config["MAX_CONTENT_LENGTH"] = int(max_upload_mb * 1024 * 1024)
    log = log or RequestLog(None)
    live = LiveRenderer(editor) if LiveRenderer.is_live(editor) else None
    jobs = None if live is not None else JobQueue(editor)
    latest = LatestWins()
    instruments = Instruments(judge)
    alpha_max = float(getattr(editor, "alpha_max", 3.0))
    strip_alphas = [a for a in STRIP_ALPHAS if a <= alpha_max]

    app.after_request(lambda resp: security_headers(resp, STUDIO_CSP))

    def fail(message: str, status: int) -> tuple[Response, int]:
        return jsonify({"error": message}), status

    @app.errorhandler(PhotoError)
    def _photo_error(exc: PhotoError) -> tuple[Response, int]:
        return fail(str(exc), exc.status)

    @app.errorhandler(ValueError)
    def _bad_value(exc: ValueError) -> tuple[Response, int]:
        return fail(str(exc).splitlines()[0], 400)

    @app.errorhandler(413)
    def _too_large(_exc: Any) -> tuple[Response, int]:
        return fail(f"upload is larger than the limit of {max_upload_mb:g} MB", 413)

    @app.errorhandler(404)
    def _not_found(_exc: Any) -> tuple[Response, int]:
        return fail(f"not found: {request.path}", 404)

    @app.errorhandler(403)
    def _forbidden(_exc: Any) -> tuple[Response, int]:
        return fail("forbidden: request from another site", 403)

    @app.before_request
    def _same_origin() -> None:
        origin = request.headers.get("Origin")
        if request.method == "POST" and origin and urlsplit(origin).netloc != request.host:
            abort(403)

    def args() -> tuple[Photo, int, dict[str, float]]:
        photo = photos.get(request.args.get("photo", ""))
        try:
            face = int(request.args.get("face", "0"))
        except ValueError:
            raise ValueError(f"face {request.args.get('face')!r} is not a number") from None
        if not 0 <= face < len(photo.boxes):
            raise ValueError(f"face {face} is out of range: {len(photo.boxes)} face(s) in {photo.name}")
        return photo, face, parse_sliders(request.args.get("c", ""), alpha_max)

    def client_seq() -> tuple[str, int]:
        client = request.args.get("client", "")[:64] or request.remote_addr or "-"
        try:
            return client, int(request.args.get("seq", "0"))
        except ValueError:
            raise ValueError(f"seq {request.args.get('seq')!r} is not a number") from None

    def logged(event: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        status, extra = 500, {}
        try:
            resp = fn()
            status = resp[1] if isinstance(resp, tuple) else getattr(resp, "status_code", 200)
            return resp
        except (PhotoError, ValueError) as exc:
            status = getattr(exc, "status", 400)
            extra = {"error": str(exc).splitlines()[0]}
            raise
        finally:
            log.write(event, client=request.args.get("client", ""), seq=request.args.get("seq"),
                      photo=request.args.get("photo") or request.form.get("photo"),
                      face=request.args.get("face"), c=request.args.get("c"), status=status,
                      ms=round(1000 * (time.perf_counter() - t0), 1), **extra)

    def rendered(photo: Photo, face: int, values: dict[str, float]) -> np.ndarray:
        control = to_control(values, alpha_max)
        if live is not None:
            return live.render(photo, face, control)
        assert jobs is not None
        return jobs.result(photo, face, control)

    @app.get("/")
    def index() -> str:
        return render_template("studio.html", expressions=EXPRESSIONS, alpha_max=alpha_max,
                               sources=photos.sources(), editor=editor_name, judge=judge.name,
                               mode="live" if live is not None else "queue", initial=initial or "")

    @app.get("/api/thumb")
    def thumb() -> Response:
        return _jpeg(photos.thumbnail(request.args.get("ref", "")), 85)

    def opened(photo: Photo, **extra: Any) -> Response:
        log.write("open", photo=photo.key, name=photo.name, status=200, **extra)
        return jsonify(_photo_json(photo))

    @app.post("/api/open")
    def open_ref() -> Response:
        ref = request.form.get("ref", "")
        try:
            photo = photos.open_ref(ref)
        except PhotoError as exc:
            log.write("open", ref=ref, status=exc.status, error=str(exc))
            raise
        return opened(photo, ref=ref)

    @app.post("/api/upload")
    def upload() -> Response:
        f = request.files.get("file")
        if f is None:
            raise PhotoError("no file in the upload (form field 'file')", 400)
        name = Path(f.filename or "upload").name
        try:
            photo = photos.open_upload(f.read(), name)
        except PhotoError as exc:
            log.write("open", name=name, status=exc.status, error=str(exc))
            raise
        return opened(photo, upload=log.keep_upload(photo.key, photo.image))

    @app.get("/api/photo/<key>.jpg")
    def photo_image(key: str) -> Response:
        return _jpeg(photos.get(key).image)

    def newest(channel: str, respond: Callable[[Photo, int, dict[str, float]], Any]) -> Any:
        """``respond(photo, face, sliders)`` unless a newer request of this client overtook it (204)."""
        photo, face, values = args()
        client, seq = client_seq()
        with latest.claim(channel + client, seq) as go:
            return respond(photo, face, values) if go else Response(status=204)

    @app.get("/api/render")
    def render() -> Any:
        return logged("render", lambda: newest("r", lambda p, f, v: _jpeg(rendered(p, f, v))))

    def read(photo: Photo, face: int, values: dict[str, float]) -> Response:
        out = instruments.read(photo.key, face, photo.image, rendered(photo, face, values), photo.boxes[face])
        out["c"] = slider_text(values)
        return jsonify(out)

    @app.get("/api/readout")
    def readout() -> Any:
        return logged("readout", lambda: newest("o", read))

    @app.get("/api/strip")
    def strip() -> Any:
        def run() -> Any:
            photo, face, _ = args()
            expr = request.args.get("e", "")
            if expr not in EXPRESSIONS:
                raise ValueError(f"unknown expression {expr!r}; expected one of: {', '.join(EXPRESSIONS)}")
            if live is None:
                raise PhotoError("the sweep strip needs a live editor (offline); not available in queue mode", 409)
            sheet = live.strip(photo, face, expr, strip_alphas)
            buf = io.BytesIO()
            sheet.save(buf, "PNG")
            if request.args.get("download"):
                return _attachment(buf.getvalue(), "image/png", f"strip_{photo.key}_{face}_{expr}.png")
            return Response(buf.getvalue(), mimetype="image/png")
        return logged("strip", run)

    def record(photo: Photo, face: int, values: dict[str, float]) -> dict[str, Any]:
        return {"facebench_studio": 1, "editor": editor_name,
                "editor_version": str(getattr(editor, "version", "")), "photo": photo.key,
                "photo_name": photo.name, "face": face, "face_box": list(photo.boxes[face]),
                "sliders": values, "control": to_control(values, alpha_max).label(),
                "c": slider_text(values)}

    def stem(photo: Photo, face: int, values: dict[str, float]) -> str:
        label = slider_text(values).replace(":", "=").replace(",", "+") or "neutral"
        return f"{Path(photo.name).stem}_face{face}_{label}"[:150]

    @app.get("/api/download.png")
    def download_png() -> Any:
        def run() -> Any:
            photo, face, values = args()
            info = PngInfo()
            info.add_text("facebench", json.dumps(record(photo, face, values), sort_keys=True))
            buf = io.BytesIO()
            Image.fromarray(rendered(photo, face, values)).save(buf, "PNG", pnginfo=info)
            return _attachment(buf.getvalue(), "image/png", stem(photo, face, values) + ".png")
        return logged("download", run)

    @app.get("/api/download.json")
    def download_json() -> Any:
        def run() -> Any:
            photo, face, values = args()
            text = json.dumps(record(photo, face, values), indent=2, sort_keys=True) + "\n"
            return _attachment(text, "application/json", stem(photo, face, values) + ".json")
        return logged("sidecar", run)

    # -- queue mode (editors without prepare/render, e.g. pixelsmile) ----------------------------
    @app.post("/api/jobs")
    def submit() -> Any:
        if jobs is None:
            raise PhotoError("this studio renders live; there is no job queue", 409)
        photo = photos.get(request.form.get("photo", ""))
        face = int(request.form.get("face", "0") or 0)
        if not 0 <= face < len(photo.boxes):
            raise ValueError(f"face {face} is out of range: {len(photo.boxes)} face(s) in {photo.name}")
        values = parse_sliders(request.form.get("c", ""), alpha_max)
        job = jobs.submit(request.form.get("client", "")[:64] or "-", photo, face, to_control(values, alpha_max))
        log.write("job", photo=photo.key, face=face, c=slider_text(values), job=job.id, status=200,
                  client=request.form.get("client", ""))
        return jsonify(jobs.progress(job))

    def job_of(job_id: int) -> Any:
        job = jobs.get(job_id) if jobs is not None else None
        if job is None:
            raise PhotoError(f"no job {job_id}", 404)
        return job

    @app.get("/api/jobs/<int:job_id>")
    def job_status(job_id: int) -> Response:
        return jsonify(jobs.progress(job_of(job_id)))  # type: ignore[union-attr]

    @app.get("/api/jobs/<int:job_id>.jpg")
    def job_image(job_id: int) -> Any:
        job = job_of(job_id)
        if job.image is None:
            raise PhotoError(f"job {job_id} has no image ({job.status})", 409)
        return _jpeg(job.image)

    return app
