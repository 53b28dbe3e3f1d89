// The gepad dashboard: one JSON-RPC websocket to the daemon (authenticated by the session
// cookie and this page's own Origin), views refreshed on prompt.changed / optimizer.progress.
"use strict";
(function () {
  const V = window.GepadViews;
  const $ = (id) => document.getElementById(id);
  const state = { component: "general", view: "curve", ws: null, next: 1, waiting: new Map(),
    examples: [], versions: [], curve: null, timer: null };

  // ---------------------------------------------------------------- the connection
  function connect() {
    const ws = new WebSocket(`ws://${location.host}/`);
    state.ws = ws;
    ws.onopen = async () => {
      setConn("live", "live");
      await call("prompt.subscribe", { components: null });
      await loadComponents();
      refreshAll();
    };
    ws.onclose = () => {
      setConn("down", "disconnected, retrying…");
      for (const [, w] of state.waiting) w.reject(new Error("connection closed"));
      state.waiting.clear();
      setTimeout(connect, 2000);
    };
    ws.onmessage = (msg) => {
      const data = JSON.parse(msg.data);
      if (data.id !== undefined && state.waiting.has(data.id)) {
        const w = state.waiting.get(data.id);
        state.waiting.delete(data.id);
        if (data.error) w.reject(new Error(data.error.message));
        else w.resolve(data.result);
      } else if (data.method === "prompt.changed") onPromptChanged(data.params);
      else if (data.method === "optimizer.progress") onProgress(data.params);
    };
  }

  function call(method, params) {
    return new Promise((resolve, reject) => {
      const id = state.next++;
      state.waiting.set(id, { resolve, reject });
      state.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params: params || {} }));
    });
  }

  function setConn(cls, text) { const c = $("conn"); c.className = `conn ${cls}`; c.textContent = text; }

  function toast(text) {
    const t = $("toast");
    t.textContent = text;
    t.classList.remove("hidden");
    clearTimeout(state.toastTimer);
    state.toastTimer = setTimeout(() => t.classList.add("hidden"), 6000);
  }

  function onPromptChanged(p) {
    if (p.component !== state.component) return;
    const last = state.versions.length ? state.versions[0].version : null;
    if (last !== null && p.version > last) toast(`${p.component} is now v${p.version} (${p.source})`);
    else if (p.pending) toast(`v${p.pending.version} waits for review`);
    $("conn").dataset.version = p.version;
    refreshAll();
  }

  function onProgress(p) {
    $("optimizer").textContent = `optimizer: ${p.state}` +
      (p.rollouts !== undefined ? ` · ${p.rollouts} rollouts · best ${V.fmtScore(p.best_score)}` : "");
    clearTimeout(state.timer);  // at most one refresh per burst of steps
    state.timer = setTimeout(() => { loadCurve(); if (state.view === "lineage") loadLineage(); }, 400);
  }

  async function loadComponents() {
    const status = await call("status.get");
    const sel = $("component");
    sel.replaceChildren(...status.components.map((c) => V.el("option", { value: c.component }, c.component)));
    sel.value = state.component;
    const opt = status.optimizer || {};
    $("optimizer").textContent = `optimizer: ${opt.state}`;
  }

  function refreshAll() {
    loadCurve(); loadVersions(); loadProvenance(); loadLineage(); loadReview(); loadExamples(); loadSpend();
  }

  function guard(fn) {
    return async (...args) => {
      try { await fn(...args); } catch (err) { toast(`error: ${err.message}`); }
    };
  }

  // ---------------------------------------------------------------- views
  const loadCurve = guard(async () => {
    state.curve = await call("dashboard.curve", { component: state.component });
    drawCurve();
  });
  function drawCurve() {
    if (!state.curve) return;
    V.renderCurve($("curve"), state.curve, $("curve-x").value);
    const n = state.curve.points.length, s = state.curve.swaps.length;
    $("curve-note").textContent = `${n} new best(s), ${s} swap(s)` +
      (state.curve.prequential && state.curve.prequential.length ? " · already handled on arrival: " + state.curve.prequential.filter(function (p) { return p.handled; }).length + " of " + state.curve.prequential.length : "");
  }

  const loadVersions = guard(async () => {
    const h = await call("prompt.history", { component: state.component, limit: 500 });
    state.versions = h.versions;
    const rows = h.versions.map((v) => V.el("tr", { "data-version": v.version, class: `status-${v.status}` },
      V.el("td", {}, `v${v.version}`), V.el("td", {}, v.source), V.el("td", {}, v.status),
      V.el("td", {}, V.fmtScore(v.score)), V.el("td", {}, V.fmtTime(v.created_at))));
    $("versions").replaceChildren(V.el("tr", {}, ["version", "source", "status", "score", "created"].map((t) => V.el("th", {}, t))), ...rows);
    for (const id of ["diff-a", "diff-b"]) {
      const sel = $(id), keep = sel.value;
      sel.replaceChildren(...h.versions.map((v) => V.el("option", { value: v.version }, `v${v.version} (${v.status})`)));
      if (keep && h.versions.some((v) => String(v.version) === keep)) sel.value = keep;
    }
    if (!$("diff-a").dataset.touched && h.versions.length > 1) $("diff-a").value = h.versions[1].version;
    if (!$("diff-b").dataset.touched) $("diff-b").value = (h.versions.find((v) => v.status === "current") || h.versions[0]).version;
    drawDiff();
  });
  function drawDiff() {
    const find = (id) => state.versions.find((v) => String(v.version) === $(id).value);
    const a = find("diff-a"), b = find("diff-b");
    if (a && b) V.renderDiff($("diff"), a.text, b.text);
  }

  const loadProvenance = guard(async () => {
    const p = await call("prompt.provenance", { component: state.component });
    const list = $("prov-lines");
    list.replaceChildren(...p.lines.map((line) => {
      const by = line.introduced_by;
      const tag = by.kind === "candidate" ? `${by.candidate} · it ${by.iteration}` : `v${by.version} ${by.source || ""}`;
      const li = V.el("li", { class: "prov-line", "data-line": line.line },
        V.el("span", { class: "tag" }, tag), line.text || " ");
      li.addEventListener("click", () => {
        list.querySelectorAll(".selected").forEach((n) => n.classList.remove("selected"));
        li.classList.add("selected");
        showLine(line);
      });
      return li;
    }));
    $("prov-detail").replaceChildren("Select a line.");
  });
  function showLine(line) {
    const by = line.introduced_by;
    const head = by.kind === "candidate"
      ? `Introduced by candidate ${by.candidate} (${by.origin}, iteration ${by.iteration})` +
        (by.parents.length ? `, from ${by.parents.join(" + ")}` : "")
      : `Introduced by version ${by.version} (${by.source || "edit"}), which the optimizer never saw`;
    const first = line.first_version ? ` · first in v${line.first_version}` : "";
    const why = line.examples.length
      ? [V.el("p", {}, `Produced by reflecting on ${line.examples.length} feedback example(s):`), ...line.examples.map(V.exampleCard)]
      : [V.el("p", { class: "muted" }, by.origin === "seed" ? "Part of the seed prompt." : "No feedback examples recorded for it.")];
    $("prov-detail").replaceChildren(V.el("p", {}, V.el("strong", {}, `Line ${line.line}`), first),
      V.el("pre", {}, line.text), V.el("p", {}, head), ...why);
  }

  const loadLineage = guard(async () => {
    const data = await call("dashboard.lineage", { component: state.component });
    $("lineage-detail").replaceChildren(`${data.candidates.length} candidates, ${data.frontier.length} on the frontier, best ${data.best}`);
    V.renderLineage($("lineage"), data, (c, node) => {
      $("lineage").querySelectorAll(".selected").forEach((n) => n.classList.remove("selected"));
      node.classList.add("selected");
      $("lineage-detail").replaceChildren(V.el("p", {}, V.el("strong", {}, c.id), ` ${c.origin}, iteration ${c.iteration}, score ${V.fmtScore(c.score)} on ${c.scored_examples} example(s)`,
        c.frontier ? ` · on the frontier (wins ${c.frontier_wins})` : "", c.version ? ` · prompt v${c.version}` : ""),
        V.el("p", {}, c.parents.length ? `parents: ${c.parents.join(", ")}` : "no parents (a seed or an edit)"),
        c.feedback_examples.length ? V.el("p", {}, `from examples ${c.feedback_examples.map((e) => "#" + e).join(", ")}`) : null);
    });
  });

  const loadReview = guard(async () => {
    const r = await call("dashboard.review", { component: state.component });
    const box = $("review");
    if (!r.pending) { box.replaceChildren(V.el("p", { class: "muted", id: "no-pending" }, "Nothing waits for review.")); return; }
    const diff = V.el("pre", { class: "diff" });
    V.renderDiff(diff, r.current.text, r.pending.text);
    const list = (items, cls) => items.length ? V.el("ul", { class: cls }, items.map((e) => V.el("li", {}, `#${e.id} ${e.kind || ""} `, e.comment ? `“${e.comment}”` : ""))) : V.el("p", { class: "muted" }, "none");
    const act = (method, label, cls) => V.el("button", { class: `act ${cls}`, id: cls, onclick: guard(async () => {
      await call(method, { component: state.component, version: r.pending.version });
      toast(`v${r.pending.version} ${label === "Approve" ? "approved" : "rejected"}`);
      refreshAll();
    }) }, `${label} v${r.pending.version}`);
    box.replaceChildren(
      V.el("p", { id: "pending-version", "data-version": r.pending.version },
        `v${r.pending.version} (score ${V.fmtScore(r.pending.score)}) against the current v${r.current.version} (score ${V.fmtScore(r.current.score)})`),
      V.el("p", {}, act("prompt.approve", "Approve", "approve"), " ", act("prompt.reject", "Reject", "reject")),
      diff,
      V.el("h3", { class: "fix" }, `Fixes ${r.fixes.length}`), list(r.fixes, "fixes"),
      V.el("h3", { class: "break" }, `Breaks ${r.breaks.length}`), list(r.breaks, "breaks"));
  });

  const loadExamples = guard(async () => {
    state.examples = (await call("dashboard.examples", { limit: 2000 })).examples;
    drawExamples();
  });
  function drawExamples() {
    const q = $("ex-search").value.trim().toLowerCase();
    const showRetired = $("ex-retired").checked;
    const hay = (e) => [e.kind, e.component, e.workspace, e.comment, e.context, e.output, e.corrected].join(" ").toLowerCase();
    const rows = state.examples.filter((e) => (showRetired || !e.retired) && (!q || hay(e).includes(q)));
    $("ex-count").textContent = `${rows.length} of ${state.examples.length}`;
    const head = V.el("tr", {}, ["id", "kind", "component", "workspace", "comment", "created", ""].map((t) => V.el("th", {}, t)));
    const out = [head];
    for (const e of rows) {
      const toggle = V.el("button", { class: "act", "data-action": e.retired ? "unretire" : "retire", onclick: guard(async (ev) => {
        ev.stopPropagation();
        await call(e.retired ? "examples.unretire" : "examples.retire", { id: e.id });
        e.retired = !e.retired;
        drawExamples();
      }) }, e.retired ? "Unretire" : "Retire");
      const tr = V.el("tr", { "data-example": e.id, class: e.retired ? "retired" : "" },
        V.el("td", {}, `#${e.id}`), V.el("td", {}, e.kind), V.el("td", {}, e.component), V.el("td", {}, e.workspace || ""),
        V.el("td", {}, e.comment || ""), V.el("td", {}, V.fmtTime(e.created_at)), V.el("td", {}, toggle));
      tr.addEventListener("click", () => {
        const open = tr.nextSibling && tr.nextSibling.classList && tr.nextSibling.classList.contains("full");
        if (open) { tr.nextSibling.remove(); return; }
        tr.after(V.el("tr", { class: "full" }, V.el("td", { colspan: 7 },
          V.el("pre", {}, `request:\n${e.context}\n\noutput:\n${e.output}` + (e.corrected ? `\n\ncorrected:\n${e.corrected}` : "") +
            (e.outcome ? `\n\noutcome:\n${JSON.stringify(e.outcome, null, 1)}` : "")))));
      });
      out.push(tr);
    }
    $("examples").replaceChildren(...out);
  }

  const loadSpend = guard(async () => {
    const s = await call("dashboard.spend", { days: 14 });
    const purposes = ["task", "judge", "reflection", "merge", "assist"];
    const head = V.el("tr", {}, V.el("th", {}, "day"), purposes.map((p) => V.el("th", {}, p)), V.el("th", {}, "total"));
    const rows = s.days.slice().reverse().map((d) => {
      let calls = 0, tokens = 0, usd = 0;
      const cells = purposes.map((p) => {
        const c = d.purposes[p];
        if (!c) return V.el("td", { class: "muted" }, "–");
        calls += c.calls; tokens += c.tokens; usd += c.cost_usd;
        return V.el("td", {}, `${c.calls} calls · ${c.tokens} tok · $${c.cost_usd.toFixed(4)}`);
      });
      return V.el("tr", { "data-day": d.day }, V.el("td", {}, d.day), cells, V.el("td", {}, `${calls} calls · ${tokens} tok · $${usd.toFixed(4)}`));
    });
    const b = s.budget || {};
    const today = s.days.length ? s.days[s.days.length - 1] : null;
    let usd = 0, tok = 0;
    if (today) for (const c of Object.values(today.purposes)) { usd += c.cost_usd; tok += c.tokens; }
    const bar = (used, cap) => { const w = V.el("span", { class: "bar" }); w.style.width = `${Math.min(100, cap ? (100 * used) / cap : 0) * 2}px`; return w; };
    $("spend").replaceChildren(
      V.el("p", {}, `Last day: $${usd.toFixed(4)} of ${b.daily_usd ? "$" + b.daily_usd : "no"} daily cap `, bar(usd, b.daily_usd),
        ` · ${tok} of ${b.daily_tokens || "no"} tokens `, bar(tok, b.daily_tokens)),
      V.el("table", { id: "spend-table" }, head, ...rows),
      s.truncated ? V.el("p", { class: "muted" }, "Only the newest 10,000 calls are counted; older days are incomplete.") : null);
  });

  // ---------------------------------------------------------------- wiring
  function show(view) {
    state.view = view;
    document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.view === view));
    document.querySelectorAll(".view").forEach((s) => s.classList.toggle("hidden", s.id !== `view-${view}`));
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => show(b.dataset.view)));
    $("component").addEventListener("change", (e) => { state.component = e.target.value; refreshAll(); });
    $("curve-x").addEventListener("change", drawCurve);
    for (const id of ["diff-a", "diff-b"]) $(id).addEventListener("change", () => { $(id).dataset.touched = "1"; drawDiff(); });
    $("ex-search").addEventListener("input", drawExamples);
    $("ex-retired").addEventListener("change", drawExamples);
    if (location.hash) show(location.hash.slice(1));
    connect();
  });
})();
