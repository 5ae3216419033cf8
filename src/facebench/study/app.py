"""The rating web app (Flask): tutorial -> practice -> the rater's own group, and an admin page.

Routes (``<token>`` is the rater's personal invite token)::

    GET  /r/<token>                        where the rater is: tutorial, next item or done
    GET  /r/<token>/tutorial   POST ...    the tutorial; POST marks it read
    GET  /r/<token>/rate       POST ...    the next item; POST stores its scores (write-once)
    GET  /r/<token>/feedback/<item>        practice feedback (your scores vs the expert's)
    GET  /r/<token>/pause                  "saved, come back with your link"
    GET  /r/<token>/img/<item>/<role>      an image of an item in the rater's assignment
    GET  /admin   POST /admin/login        progress per rater and group, behind the admin secret
    GET  /admin/progress.json              the same as JSON (``Authorization: Bearer <secret>``)

Security: templates autoescape every prompt, name and note; images are served by item id from the
paths stored at creation (a file changed since is refused); a token or item outside the rater's
assignment is a 404; the admin secret is compared in constant time and the admin cookie holds only
an HMAC of the stored hash; pages carry a strict Content-Security-Policy (no inline script) and
``Referrer-Policy: no-referrer`` so tokens do not leak to other sites. Every form carries a CSRF
token and every POST without a valid one is refused with 403 (:class:`.security.Csrf`, keyed by
the stored admin hash so forms survive restarts); failed admin logins (form or Bearer) are limited
per client address (:class:`.security.AttemptLimiter`: 5 per minute, 30 per minute in all; then
429 with ``Retry-After``). Ids in URLs above 2**63 - 1 are a 404, out-of-range form values a 400.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import threading
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, jsonify, redirect, render_template, request, send_file, url_for
from PIL import Image
from sqlalchemy.engine import Engine

from . import store
from .definition import SCORE_MAX, SCORE_MIN, file_sha256
from .security import AttemptLimiter, Csrf

ADMIN_COOKIE = "facebench_admin"
_HERE = Path(__file__).parent


class _HashCache:
    """Remembers which image files still match their stored SHA-256 (keyed by size and mtime)."""

    def __init__(self) -> None:
        self._ok: dict[tuple[str, int, int], str] = {}
        self._lock = threading.Lock()

    def matches(self, path: str, sha: str) -> bool:
        try:
            st = os.stat(path)
        except OSError:
            return False
        key = (path, st.st_size, st.st_mtime_ns)
        with self._lock:
            known = self._ok.get(key)
        if known is None:
            known = file_sha256(Path(path))
            with self._lock:
                self._ok[key] = known
        return hmac.compare_digest(known, sha)


#: The pages' Content-Security-Policy: nothing inline, nothing from elsewhere, no framing.
CSP = ("default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def security_headers(resp: Response, csp: str = CSP) -> Response:
    """Strict CSP, no sniffing, no referrer, no framing; no caching except for /static/
    (an ``after_request`` hook shared by facebench's web apps)."""
    resp.headers["Content-Security-Policy"] = csp
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Frame-Options"] = "DENY"
    if not request.path.startswith("/static/"):
        resp.headers["Cache-Control"] = "no-store"
    return resp


def _image_size(path: str) -> tuple[int, int] | None:
    try:
        with Image.open(path) as im:
            return im.size
    except OSError:
        return None


def create_app(engine: Engine, *, login_limiter: AttemptLimiter | None = None) -> Flask:
    """The Flask app for the study stored behind ``engine`` (already migrated); ``login_limiter``
    counts failed admin logins (default: 5 per client and 30 in all per minute)."""
    app = Flask(
        "facebench.study",
        template_folder=str(_HERE / "templates"),
        static_folder=str(_HERE / "static"),
    )
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    hashes = _HashCache()
    info = store.study_info(engine)
    dims = store.study_dimensions(engine)  # fixed when the study is created
    dim_names = [d.name for d in dims]
    # The admin cookie holds an HMAC of the stored secret hash, never the secret itself.
    admin_cookie_value = hmac.new(
        store.admin_hash(engine).encode(), b"facebench-admin-cookie", hashlib.sha256
    ).hexdigest()
    limiter = login_limiter or AttemptLimiter()

    def _csrf_failed() -> tuple[str, int]:
        return render_template("error.html", status=403, token=None,
                               message="This form has expired or was not sent from this site: reload the page "
                                       "and try again."), 403

    Csrf(hmac.new(store.admin_hash(engine).encode(), b"facebench-csrf", hashlib.sha256).digest(),
         on_fail=_csrf_failed).init_app(app)

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"study_name": info["name"], "score_min": SCORE_MIN, "score_max": SCORE_MAX}

    app.after_request(security_headers)

    @app.errorhandler(store.StudyError)
    def _study_error(exc: store.StudyError) -> tuple[str, int]:
        token = request.view_args.get("token") if request.view_args else None
        known = False
        if token:
            try:
                store.rater_by_token(engine, token)
                known = True
            except store.NotFound:
                known = False
        return render_template("error.html", message=str(exc), status=exc.status,
                               token=token if known else None), exc.status

    @app.errorhandler(404)
    def _not_found(_exc: Any) -> tuple[str, int]:
        return render_template("error.html", message="Page not found.", status=404, token=None), 404

    @app.errorhandler(413)
    def _too_large(_exc: Any) -> tuple[str, int]:
        return render_template("error.html", message="Request too large.", status=413, token=None), 413

    def rater_of(token: str) -> store.Rater:
        return store.rater_by_token(engine, token)

    @app.get("/")
    def index() -> str:
        return render_template("index.html")

    @app.get("/r/<token>")
    def home(token: str) -> Response:
        rater = rater_of(token)
        if not rater.tutorial_done:
            return redirect(url_for("tutorial", token=token), 303)
        return redirect(url_for("rate", token=token), 303)

    @app.route("/r/<token>/tutorial", methods=["GET", "POST"])
    def tutorial(token: str) -> Any:
        rater = rater_of(token)
        if request.method == "POST":
            store.finish_tutorial(engine, rater)
            return redirect(url_for("rate", token=token), 303)
        counts = store.phase_counts(engine, rater)
        examples = store.tutorial_items(engine)
        for ex in examples:
            ex["size"] = _image_size(_path(rater, ex["id"], "image")[0])
        return render_template(
            "tutorial.html", token=token, rater=rater, dims=dims, examples=examples,
            instructions=info.get("instructions", ""), counts=counts,
        )

    def _path(rater: store.Rater, item_id: int, role: str) -> tuple[str, str]:
        return store.item_image_path(engine, rater, item_id, role)

    @app.route("/r/<token>/rate", methods=["GET", "POST"])
    def rate(token: str) -> Any:
        rater = rater_of(token)
        if request.method == "POST":
            f = request.form
            scores = {k[len("score_"):]: v for k, v in f.items() if k.startswith("score_")}
            item_id = f.get("item_id", "")
            # AlreadyRated (a second tab, the back button) answers 409 and changes nothing.
            phase = store.submit_rating(engine, rater, item_id, scores,
                                        elapsed_ms=f.get("elapsed_ms"), dimensions=dim_names)
            if phase == "practice" and store.expert_scores(engine, int(item_id)):
                return redirect(url_for("feedback", token=token, item_id=int(item_id)), 303)
            return redirect(url_for("rate", token=token), 303)
        if not rater.tutorial_done:
            return redirect(url_for("tutorial", token=token), 303)
        task = store.next_task(engine, rater)
        if task is None:
            counts = store.phase_counts(engine, rater)
            return render_template("done.html", token=token, rater=rater, counts=counts)
        path, _ = _path(rater, task.item_id, "image")
        extras = []
        if task.has_reference:
            ref_dims = [d.name for d in dims if d.stimulus in ("double", "multi")]
            extras.append({"role": "reference", "dims": ref_dims,
                           "label": _reference_label(dims),
                           "size": _image_size(_path(rater, task.item_id, "reference")[0])})
            gt_dims = [d.name for d in dims if d.stimulus == "multi"]
            if task.has_ground_truth and gt_dims:
                extras.append({"role": "ground_truth", "dims": gt_dims, "label": "Ground truth",
                               "size": _image_size(_path(rater, task.item_id, "ground_truth")[0])})
        prompt_dims = [d.name for d in dims if d.show_prompt]
        return render_template(
            "rate.html", token=token, rater=rater, task=task, dims=dims, extras=extras,
            size=_image_size(path), prompt_dims=prompt_dims,
        )

    @app.get(f"/r/<token>/feedback/<int(max={store.MAX_ID}):item_id>")
    def feedback(token: str, item_id: int) -> str:
        rater = rater_of(token)
        mine = store.rater_scores(engine, rater, item_id)
        if not mine:
            raise store.NotFound(f"you have not rated item {item_id}")
        expert = store.expert_scores(engine, item_id)
        _path(rater, item_id, "image")  # the item must be the rater's own
        return render_template("feedback.html", token=token, rater=rater, dims=dims, mine=mine,
                               expert=expert, item_id=item_id)

    @app.get("/r/<token>/pause")
    def pause(token: str) -> str:
        rater = rater_of(token)
        return render_template("pause.html", token=token, rater=rater,
                               counts=store.phase_counts(engine, rater))

    @app.get(f"/r/<token>/img/<int(max={store.MAX_ID}):item_id>/<role>")
    def image(token: str, item_id: int, role: str) -> Response:
        rater = rater_of(token)
        path, sha = _path(rater, item_id, role)
        if not hashes.matches(path, sha):
            raise store.ImageChanged(f"the image of item {item_id} changed or vanished on the server")
        resp = send_file(path, max_age=0, etag=sha, conditional=True)
        resp.headers["Content-Disposition"] = "inline"
        return resp

    def _client() -> str:
        return request.remote_addr or "?"

    def _limited() -> tuple[str, int, dict[str, str]] | None:
        wait = limiter.retry_after(_client())
        if not wait:
            return None
        return (render_template("admin_login.html", failed=False, wait=math.ceil(wait)), 429,
                {"Retry-After": str(math.ceil(wait))})

    def _admin_ok() -> bool:
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            if store.check_admin(engine, auth[7:].strip()):
                return True
            limiter.failed(_client())
        cookie = request.cookies.get(ADMIN_COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie, admin_cookie_value)

    @app.get("/admin")
    def admin() -> Any:
        if not _admin_ok():
            return render_template("admin_login.html", failed=False), 401
        per_rater, per_group = store.progress(engine)
        return render_template("admin.html", per_rater=per_rater, per_group=per_group, dims=dims)

    @app.post("/admin/login")
    def admin_login() -> Any:
        refused = _limited()
        if refused:
            return refused
        if not store.check_admin(engine, request.form.get("secret", "")):
            limiter.failed(_client())
            return render_template("admin_login.html", failed=True), 403
        resp = redirect(url_for("admin"), 303)
        resp.set_cookie(ADMIN_COOKIE, admin_cookie_value, httponly=True, samesite="Strict",
                        secure=request.is_secure, path="/admin")
        return resp

    @app.get("/admin/progress.json")
    def admin_json() -> Any:
        if request.headers.get("Authorization", "").startswith("Bearer ") and _limited():
            return jsonify({"error": "too many failed attempts"}), 429, {
                "Retry-After": str(math.ceil(limiter.retry_after(_client())))}
        if not _admin_ok():
            abort(403)
        per_rater, per_group = store.progress(engine)
        for r in per_rater:
            r["last_seen"] = r["last_seen"].isoformat() if r["last_seen"] else None
        return jsonify({"raters": per_rater, "groups": per_group})

    @app.errorhandler(403)
    def _forbidden(_exc: Any) -> tuple[str, int]:
        return render_template("error.html", message="Forbidden.", status=403, token=None), 403

    return app


def _reference_label(dims: list) -> str:
    """Caption of the reference: the ID reference (customization) or the LQ input (restoration)."""
    if any(d.stimulus == "multi" for d in dims):
        return "Low-quality input"
    return "Reference"
