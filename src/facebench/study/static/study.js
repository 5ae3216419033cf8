// facebench study: slider keys, "show the reference / prompt only for its dimension", submit checks.
"use strict";
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("rate-form");
  if (!form) return;
  const started = performance.now();
  const sliders = Array.from(form.querySelectorAll("input[type=range]"));
  const message = document.getElementById("message");
  const lo = (s) => parseFloat(s.min), hi = (s) => parseFloat(s.max);

  function show(s) {
    const box = s.closest(".dim");
    const fill = s.dataset.touched === "1" ? (100 * (s.value - lo(s)) / (hi(s) - lo(s))) : 0;
    s.style.setProperty("--fill", fill.toFixed(2) + "%");
    box.classList.toggle("touched", s.dataset.touched === "1");
    document.getElementById("o_" + box.dataset.dim).textContent =
      s.dataset.touched === "1" ? parseFloat(s.value).toFixed(2) : "not set";
  }
  function setValue(s, v) {
    v = Math.min(hi(s), Math.max(lo(s), Math.round(v * 100) / 100));
    s.value = v.toFixed(2);
    s.dataset.touched = "1";
    show(s);
    status();
  }
  function activate(dim) {
    form.querySelectorAll(".dim").forEach((d) => d.classList.toggle("active", d.dataset.dim === dim));
    document.querySelectorAll("[data-for]").forEach((e) => {
      const on = (e.dataset.for || "").split(" ").includes(dim);
      e.classList.toggle("active", on);
      // a reference beside a large image may sit outside the scroll area: bring it into view
      if (on && e.tagName === "FIGURE") e.scrollIntoView({ block: "nearest", inline: "nearest" });
    });
  }
  function missing() { return sliders.filter((s) => s.dataset.touched !== "1"); }
  function status(warn) {
    const m = missing();
    message.classList.toggle("warn", !!warn && m.length > 0);
    message.textContent = m.length
      ? (warn ? "Please set: " : "Still to set: ") + m.map((s) => form.querySelector("label[for=" + s.id + "]").textContent).join(", ")
      : "All set. Press Enter or Submit.";
  }

  sliders.forEach((s) => {
    show(s);
    s.addEventListener("input", () => { s.dataset.touched = "1"; show(s); status(); });
    s.addEventListener("focus", () => activate(s.closest(".dim").dataset.dim));
    s.closest(".dim").addEventListener("pointerdown", () => activate(s.closest(".dim").dataset.dim));
    s.addEventListener("keydown", (e) => {
      const v = parseFloat(s.value);
      const small = e.shiftKey ? 0.01 : 0.1;
      let next = null;
      if (e.key === "ArrowRight" || e.key === "ArrowUp") next = v + small;
      else if (e.key === "ArrowLeft" || e.key === "ArrowDown") next = v - small;
      else if (e.key === "PageUp") next = v + 0.5;
      else if (e.key === "PageDown") next = v - 0.5;
      else if (e.key === "Home") next = lo(s);
      else if (e.key === "End") next = hi(s);
      else if (/^[0-9]$/.test(e.key) && !e.ctrlKey && !e.metaKey && !e.altKey) {
        const d = parseInt(e.key, 10);
        if (d <= hi(s)) next = d;
      }
      if (next !== null) { e.preventDefault(); setValue(s, next); }
    });
  });

  form.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.target.type === "range") { e.preventDefault(); form.requestSubmit(); }
  });
  let sent = false;
  form.addEventListener("submit", (e) => {
    const m = missing();
    if (m.length || sent) {
      e.preventDefault();
      if (m.length) { status(true); m[0].focus(); }
      return;
    }
    sent = true;
    document.getElementById("elapsed_ms").value = Math.round(performance.now() - started);
    document.getElementById("submit").disabled = true;
  });
  if (sliders.length) activate(sliders[0].closest(".dim").dataset.dim);
  status();
  // Original resolution can exceed a laptop window: say so instead of scaling the images.
  const stim = document.getElementById("stimuli");
  const warnSize = () => {
    const wide = Array.from(stim.querySelectorAll("img")).some((i) =>
      i.width > stim.clientWidth || i.height > stim.clientHeight);
    document.getElementById("too-big").hidden = !wide;
  };
  window.addEventListener("load", warnSize);
  window.addEventListener("resize", warnSize);
});
