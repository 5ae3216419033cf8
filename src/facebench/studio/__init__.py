"""facebench studio: edit facial expressions live in the browser, with the judge and identity
beside the picture (``facebench studio [PHOTO_OR_FOLDER]``).

- :mod:`.photos` -- where photos come from (samples, one folder, uploads), limits, analysis cache;
- :mod:`.controls` -- slider values <-> :class:`~facebench.edit.ExpressionControl`;
- :mod:`.live` -- prepare-once/render-per-change rendering, latest request wins, the sweep strip;
- :mod:`.jobs` -- a queue with progress for slow editors (PixelSmile);
- :mod:`.readout` -- judge bars ("not judged" where the judge cannot) and the identity score;
- :mod:`.log` -- the request log and its replay;
- :mod:`.app` -- the Flask app (served by :func:`facebench.study.server.serve_wsgi`);
- :mod:`.cli` -- the command.

Nothing heavy is imported here (``facebench --help`` loads the command module only); the
identity read-out the lead wires to the calibration is :func:`.readout.identity_readout`.
"""
