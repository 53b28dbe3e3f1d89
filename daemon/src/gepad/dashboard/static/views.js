// Rendering helpers for the gepad dashboard: pure functions from data to DOM, no network.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined) node.setAttribute(k, v);
    }
    for (const c of children.flat()) {
      if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }

  const fmtScore = (s) => (s === null || s === undefined ? "–" : Number(s).toFixed(3));
  const fmtTime = (t) => (t ? new Date(t * 1000).toLocaleString() : "–");

  // Line diff by longest common subsequence (prompts are short: tens of lines).
  function diffLines(a, b) {
    const x = a.split("\n"), y = b.split("\n");
    const n = x.length, m = y.length;
    const L = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    const out = [];
    let i = 0, j = 0;
    while (i < n && j < m) {
      if (x[i] === y[j]) { out.push(["same", x[i]]); i++; j++; }
      else if (L[i + 1][j] >= L[i][j + 1]) out.push(["del", x[i++]]);
      else out.push(["add", y[j++]]);
    }
    while (i < n) out.push(["del", x[i++]]);
    while (j < m) out.push(["add", y[j++]]);
    return out;
  }

  function renderDiff(target, a, b) {
    target.replaceChildren(...diffLines(a, b).map(([kind, line]) =>
      el("span", { class: kind }, (kind === "add" ? "+ " : kind === "del" ? "- " : "  ") + line)));
  }

  function renderCurve(target, data, xKey) {
    const W = 760, H = 300, P = 40;
    const pts = data.points.filter((p) => p.score !== null && p.score !== undefined);
    if (data.now && data.now.score !== null) pts.push({ ...data.now, live: true });
    const xOf = (p) => (xKey === "t" ? p.t : (p.rollouts ?? p.iteration ?? 0));
    const xs = pts.map(xOf).concat(data.swaps.map((s) => (xKey === "t" ? s.t : null)).filter((v) => v !== null));
    const x0 = Math.min(...xs, 0 + (xKey === "t" && xs.length ? Math.min(...xs) : 0));
    const x1 = Math.max(...xs, x0 + 1);
    const sx = (v) => P + ((v - x0) / (x1 - x0 || 1)) * (W - 2 * P);
    const sy = (v) => H - P - v * (H - 2 * P);
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, id: "curve-svg" });
    root.append(svg("line", { class: "axis", x1: P, y1: H - P, x2: W - P, y2: H - P }));
    root.append(svg("line", { class: "axis", x1: P, y1: P, x2: P, y2: H - P }));
    for (const v of [0, 0.5, 1]) root.append(svg("text", { x: 4, y: sy(v) + 4 }, v.toFixed(1)));
    root.append(svg("text", { x: W - P - 60, y: H - 8 }, xKey === "t" ? "time" : "rollouts"));
    // Swaps: by time they sit exactly; by rollouts, at the point of the candidate swapped in.
    for (const s of data.swaps) {
      const at = xKey === "t" ? s.t : (pts.find((p) => p.candidate === s.candidate) || {}).rollouts;
      if (at === undefined || at === null) continue;
      const x = sx(at);
      root.append(svg("line", { class: "swap", x1: x, y1: P, x2: x, y2: H - P }));
      root.append(svg("text", { x: x + 3, y: P + 10, class: "swap-label" }, `v${s.version}`));
    }
    let d = "";
    pts.forEach((p, k) => { d += `${k ? "L" : "M"}${sx(xOf(p))},${sy(p.score)} `; });
    if (d) root.append(svg("path", { class: "curve", d }));
    for (const p of pts) {
      const c = svg("circle", { class: "point", cx: sx(xOf(p)), cy: sy(p.score), r: p.live ? 3 : 4,
        "data-candidate": p.candidate });
      c.append(svg("title", {}, `${p.candidate}: ${fmtScore(p.score)} at ${xOf(p)}`));
      root.append(c);
    }
    target.replaceChildren(root);
  }

  // Columns by iteration, rows in creation order within a column; edges to every parent.
  function renderLineage(target, data, onPick) {
    const cols = new Map();
    for (const c of data.candidates) {
      if (!cols.has(c.iteration)) cols.set(c.iteration, []);
      cols.get(c.iteration).push(c);
    }
    const iters = [...cols.keys()].sort((a, b) => a - b);
    const pos = new Map();
    const DX = 46, DY = 26, P = 24;
    let rows = 1;
    iters.forEach((it, ci) => {
      const list = cols.get(it);
      rows = Math.max(rows, list.length);
      list.forEach((c, ri) => pos.set(c.id, [P + ci * DX, P + ri * DY]));
    });
    const W = P * 2 + Math.max(1, iters.length) * DX, H = P * 2 + rows * DY;
    const root = svg("svg", { width: W, height: H, id: "lineage-svg" });
    const edges = svg("g", {});
    for (const c of data.candidates) {
      const [x, y] = pos.get(c.id);
      for (const parent of c.parents) {
        if (!pos.has(parent)) continue;
        const [px, py] = pos.get(parent);
        edges.append(svg("path", { class: "edge", d: `M${px},${py} C${(px + x) / 2},${py} ${(px + x) / 2},${y} ${x},${y}` }));
      }
    }
    root.append(edges);
    for (const c of data.candidates) {
      const [x, y] = pos.get(c.id);
      const cls = ["node", c.frontier ? "frontier" : "", c.id === data.best ? "best" : ""].join(" ");
      const node = svg("circle", { class: cls, cx: x, cy: y, r: 8, "data-id": c.id,
        onclick: () => onPick(c, node) });
      node.append(svg("title", {}, `${c.id} (${c.origin}, iteration ${c.iteration}) score ${fmtScore(c.score)}`));
      root.append(node);
    }
    iters.forEach((it, ci) => root.append(svg("text", { x: P + ci * DX - 4, y: H - 6 }, it)));
    target.replaceChildren(root);
  }

  function exampleCard(e) {
    return el("div", { class: "card example", "data-example": e.id },
      el("strong", {}, `#${e.id} ${e.kind}`), e.retired ? el("span", { class: "muted" }, " (retired)") : null,
      e.comment ? el("p", {}, "“", e.comment, "”") : null,
      e.corrected ? el("details", {}, el("summary", {}, "correction"), el("pre", {}, e.corrected)) : null,
      e.context ? el("details", {}, el("summary", {}, "request"), el("pre", {}, e.context)) : null);
  }

  window.GepadViews = { el, svg, fmtScore, fmtTime, diffLines, renderDiff, renderCurve, renderLineage, exampleCard };
})();
