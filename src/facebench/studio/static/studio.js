// facebench studio: sliders -> debounced render requests (one in flight, the newest pending wins),
// the picture from a blob, judge bars + identity once the picture settles, the sweep strip.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const body = document.body;
  const mode = body.dataset.mode;
  const $ = (id) => document.getElementById(id);
  const img = $("edited"), message = $("message"), facesBox = $("faces");
  const sliders = Array.from(document.querySelectorAll("#sliders input[type=range]"));
  const S = {
    photo: null, face: 0, client: Math.random().toString(36).slice(2, 12), seq: 0,
    inflight: false, pending: false, t0: null, active: sliders[0].dataset.e,
    latencies: [], renders: 0, renderRequests: 0, readoutTimer: null, readoutAbort: null, debounce: null, url: null,
    job: null,
  };
  window.studio = S; // read by the browser test and the benchmark

  function say(text, error) {
    message.textContent = text;
    message.classList.toggle("error", !!error);
  }
  async function errorOf(resp) {
    try { return (await resp.json()).error || ("HTTP " + resp.status); } catch (e) { return "HTTP " + resp.status; }
  }
  function controlText() {
    return sliders.filter((s) => parseFloat(s.value) > 0)
      .map((s) => s.dataset.e + ":" + parseFloat(s.value)).join(",");
  }
  function query(extra) {
    const q = new URLSearchParams({ photo: S.photo, face: String(S.face), c: controlText() });
    for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
    return q.toString();
  }
  function showValue(s) { $("o_" + s.dataset.e).textContent = parseFloat(s.value).toFixed(2); }
  function updateLinks() {
    if (!S.photo) return;
    $("dl-png").href = "/api/download.png?" + query();
    $("dl-json").href = "/api/download.json?" + query();
    if ($("dl-strip")) $("dl-strip").href = "/api/strip?" + query({ e: S.active, download: "1" });
  }
  function setActive(e) {
    const changed = e !== S.active;
    S.active = e;
    document.querySelectorAll(".slider").forEach((d) => d.classList.toggle("active", d.dataset.e === e));
    $("strip-expr").textContent = e;
    if (changed || !$("strip").getAttribute("src")) loadStrip();
    updateLinks();
  }
  function loadStrip() {
    if (!S.photo || mode !== "live") return;
    $("strip").src = "/api/strip?" + new URLSearchParams({ photo: S.photo, face: String(S.face), e: S.active });
  }

  // -- live rendering ---------------------------------------------------------------------------
  function changed() {
    if (S.t0 === null) S.t0 = performance.now();
    updateLinks();
    clearTimeout(S.debounce);
    clearTimeout(S.readoutTimer);
    if (S.readoutAbort) S.readoutAbort.abort();
    S.debounce = setTimeout(mode === "live" ? send : submitJob, mode === "live" ? 20 : 300);
  }
  async function show(blob, c) {
    const url = URL.createObjectURL(blob);
    img.src = url;
    await img.decode();
    await new Promise((r) => requestAnimationFrame(() => r()));
    if (S.url) URL.revokeObjectURL(S.url);
    S.url = url;
    img.dataset.c = c;
  }
  async function send() {
    if (!S.photo) return;
    if (S.inflight) { S.pending = true; return; }
    S.inflight = true;
    const t0 = S.t0 === null ? performance.now() : S.t0;
    S.t0 = null;
    const c = controlText();
    try {
      S.renderRequests += 1;
      const resp = await fetch("/api/render?" + query({ client: S.client, seq: String(++S.seq) }));
      if (resp.status === 200) {
        await show(await resp.blob(), c);
        S.latencies.push(performance.now() - t0);
        S.renders += 1;
        body.dataset.renders = String(S.renders);
        if (message.classList.contains("error")) say("");
      } else if (resp.status !== 204) {
        say(await errorOf(resp), true);
      }
    } catch (e) {
      say("the studio server does not answer (" + e + ")", true);
    } finally {
      S.inflight = false;
      if (S.pending) { S.pending = false; send(); } else { S.readoutTimer = setTimeout(readout, 150); }
    }
  }

  // -- instruments --------------------------------------------------------------------------------
  async function readout() {
    if (!S.photo) return;
    if (S.readoutAbort) S.readoutAbort.abort();
    const ctl = new AbortController();
    S.readoutAbort = ctl;
    const c = controlText();
    try {
      const resp = await fetch("/api/readout?" + query({ client: S.client, seq: String(++S.seq) }), { signal: ctl.signal });
      if (resp.status === 204) return;
      if (resp.status !== 200) { say(await errorOf(resp), true); return; }
      const data = await resp.json();
      if (c !== controlText()) return; // the sliders moved meanwhile: a newer readout follows
      drawBars(data);
      $("id-label").textContent = data.identity.label;
      $("id-value").textContent = data.identity.value.toFixed(3);
      body.dataset.readoutC = c;
    } catch (e) {
      if (e.name !== "AbortError") say("readout failed (" + e + ")", true);
    }
  }
  function drawBars(data) {
    const box = $("bars");
    box.textContent = "";
    if (data.judge_error) {
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = "judge: " + data.judge_error;
      box.appendChild(p);
    }
    for (const row of data.bars) {
      const div = document.createElement("div");
      div.className = "barrow" + (row.judged ? "" : " nj");
      div.dataset.e = row.expression;
      const name = document.createElement("span");
      name.textContent = row.expression;
      const track = document.createElement("span");
      track.className = "track";
      const val = document.createElement("span");
      val.className = "val";
      if (row.judged) {
        const fill = document.createElement("span");
        fill.className = "fill";
        fill.style.width = (100 * row.score).toFixed(1) + "%";
        track.appendChild(fill);
        if (row.source !== null) {
          const mark = document.createElement("span");
          mark.className = "mark";
          mark.title = "unedited: " + row.source.toFixed(2);
          mark.style.left = (100 * row.source).toFixed(1) + "%";
          track.appendChild(mark);
        }
        val.textContent = row.score.toFixed(2);
        div.dataset.score = String(row.score);
      } else {
        val.textContent = "not judged";
      }
      div.append(name, track, val);
      box.appendChild(div);
    }
  }

  // -- queue mode (slow editors) -----------------------------------------------------------------
  async function submitJob() {
    if (!S.photo) return;
    const form = new URLSearchParams({ photo: S.photo, face: String(S.face), c: controlText(), client: S.client });
    const resp = await fetch("/api/jobs", { method: "POST", body: form });
    if (resp.status !== 200) { say(await errorOf(resp), true); return; }
    const job = await resp.json();
    S.job = job.id;
    $("queue").hidden = false;
    poll(job.id, controlText());
  }
  async function poll(id, c) {
    if (S.job !== id) return;
    const resp = await fetch("/api/jobs/" + id);
    if (resp.status !== 200) { say(await errorOf(resp), true); return; }
    const p = await resp.json();
    const est = p.estimate_s;
    $("job-progress").value = p.status === "done" ? 1 : (est ? Math.min(0.95, p.elapsed_s / est) : 0);
    $("job-status").textContent = p.status + (p.ahead ? " (" + p.ahead + " ahead)" : "") +
      (p.status === "running" ? " " + p.elapsed_s.toFixed(1) + " s" + (est ? " of ~" + est.toFixed(1) + " s" : "") : "");
    body.dataset.job = p.status;
    if (p.status === "done") {
      const r = await fetch("/api/jobs/" + id + ".jpg");
      await show(await r.blob(), c);
      S.renders += 1;
      body.dataset.renders = String(S.renders);
      S.readoutTimer = setTimeout(readout, 50);
    } else if (p.status === "failed") {
      say(p.error, true);
    } else if (p.status !== "superseded") {
      setTimeout(() => poll(id, c), 300);
    }
  }

  // -- photos and faces ---------------------------------------------------------------------------
  function drawFaces(photo) {
    facesBox.textContent = "";
    facesBox.classList.toggle("single", photo.faces.length < 2);
    for (const f of photo.faces) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "face" + (f.index === S.face ? " current" : "");
      b.title = "edit face " + (f.index + 1);
      b.setAttribute("aria-label", "edit face " + (f.index + 1));
      const [x0, y0, x1, y1] = f.box;
      b.style.left = (100 * x0 / photo.width) + "%";
      b.style.top = (100 * y0 / photo.height) + "%";
      b.style.width = (100 * (x1 - x0) / photo.width) + "%";
      b.style.height = (100 * (y1 - y0) / photo.height) + "%";
      b.addEventListener("click", () => { S.face = f.index; drawFaces(photo); loadStrip(); changed(); });
      facesBox.appendChild(b);
    }
  }
  function opened(photo) {
    S.photo = photo.key;
    S.face = 0;
    body.dataset.photo = photo.key;
    img.src = "/api/photo/" + photo.key + ".jpg";
    drawFaces(photo);
    say(photo.name + ": " + photo.faces.length + " face(s)" + (photo.faces.length > 1 ? " - click one to edit it" : ""));
    loadStrip();
    updateLinks();
    changed();
  }
  async function openWith(url, init, label) {
    say("opening " + label + " ...");
    try {
      const resp = await fetch(url, init);
      if (resp.status !== 200) { say(await errorOf(resp), true); return; }
      opened(await resp.json());
    } catch (e) {
      say("the studio server does not answer (" + e + ")", true);
    }
  }
  function openRef(ref, button) {
    document.querySelectorAll(".source").forEach((b) => b.classList.toggle("current", b === button));
    openWith("/api/open", { method: "POST", body: new URLSearchParams({ ref }) }, ref.replace(/^\w+:/, ""));
  }
  document.querySelectorAll(".source").forEach((b) => b.addEventListener("click", () => openRef(b.dataset.ref, b)));
  $("upload").addEventListener("change", () => {
    const f = $("upload").files[0];
    if (!f) return;
    const form = new FormData();
    form.append("file", f, f.name);
    openWith("/api/upload", { method: "POST", body: form }, f.name);
  });
  $("upload-form").addEventListener("submit", (e) => e.preventDefault());

  // -- sliders --------------------------------------------------------------------------------------
  sliders.forEach((s) => {
    s.addEventListener("input", () => { showValue(s); setActive(s.dataset.e); changed(); });
    s.addEventListener("focus", () => setActive(s.dataset.e));
  });
  $("reset").addEventListener("click", () => {
    sliders.forEach((s) => { s.value = "0"; showValue(s); });
    changed();
  });
  setActive(S.active);

  const initial = body.dataset.initial;
  if (initial) {
    const b = Array.from(document.querySelectorAll(".source")).find((x) => x.dataset.ref === initial);
    openRef(initial, b || null);
  }
});
