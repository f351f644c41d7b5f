// SPDX-License-Identifier: MIT
// steer-web's page: draws the frames steer-web sends over the WebSocket
// with Chart.js, acknowledges each one once drawn (so a busy or hidden tab
// gets fewer frames, never a queue), and sends an operator's commands.
"use strict";

const MAX_POINTS = 3000;       // points kept per scalar series
// The series chart is redrawn at most this often: a frame adds one point of
// MAX_POINTS, moving the curves by less than a pixel, while a redraw was
// most of the page's drawing time (the header follows every frame).
const SERIES_EVERY_MS = 100;
const SERIES_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"];

const W = {
  hello: null, role: "observer", name: "", ws: null,
  frames: 0, step: null, state: "", connected: false,
  knobs: {}, scalars: {}, series: {}, markers: [], events: [],
  picked: new Set(), indicators: new Set(),
  pending: new Map(), nextId: 1, charts: {}, arrayCharts: {}, search: null,
};
window.steerWeb = W; // for people in the console, and for the tests

const $ = (id) => document.getElementById(id);

function fmt(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v !== "number") return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  return (a >= 1e5 || a < 1e-3) ? v.toExponential(4) : String(+v.toPrecision(6));
}

function message(text, ok) {
  const m = $("message");
  m.textContent = text;
  m.className = "message " + (ok ? "ok" : "error");
}

// ---------------------------------------------------------------- commands

W.send = function (cmd, body) {
  return new Promise((resolve) => {
    const id = W.nextId++;
    W.pending.set(id, resolve);
    W.ws.send(JSON.stringify({ type: "cmd", id: id, cmd: cmd, body: body || {} }));
  });
};

async function steer(cmd, body) {
  const r = await W.send(cmd, body);
  if (r.ok) message(cmd + ": done at step " + (r.body.step ?? "–"), true);
  else message(cmd + ": " + r.body.error.code + ": " + r.body.error.message, false);
  return r;
}

function onReply(r) {
  const resolve = W.pending.get(r.id);
  if (resolve) {
    W.pending.delete(r.id);
    resolve(r);
  } else if (!r.ok) {
    message(r.body.error.code + ": " + r.body.error.message, false);
  }
}

// ---------------------------------------------------------------- setup

function diag(name) { return W.hello.diagnostics.find((d) => d.name === name); }

// A hello comes when the page connects, and again when steer-web follows a
// restarted steerd: the page then starts again from the new run.
function setup(h) {
  W.hellos = (W.hellos || 0) + 1;
  if (W.hello) {
    for (const c of [W.charts.series, W.charts.phase, ...Object.values(W.arrayCharts).map((a) => a.chart)])
      if (c) c.destroy();
    Object.assign(W, { charts: {}, arrayCharts: {}, series: {}, markers: [], picked: new Set(),
      indicators: new Set(), indicatorKey: undefined, step: null, scalars: {}, search: null,
      phase: undefined, latestArrays: undefined, history: undefined });
    onEvent({ step: h.run.step, event: "steerd started again: a new run" });
  }
  W.hello = h.run;
  W.role = h.role;
  W.name = h.name;
  document.body.classList.toggle("observer", W.role !== "operator");
  $("title").textContent = h.run.adapter.name + " — steer-web";
  $("who").textContent = (W.role === "operator" ? "operator " + W.name : "observer (read-only)");
  const scalars = h.run.diagnostics.filter((d) => d.rank === 0);
  // Indicators: the adapter's 0/1 scalars ("1 when ..."); indicator events add any others.
  for (const d of scalars)
    if (/^1 when/.test(d.description || "")) W.indicators.add(d.name);
  const firstUnit = (scalars.find((d) => d.unit.startsWith("A/")) || scalars[0] || {}).unit;
  const picks = $("scalar-picks");
  picks.textContent = "";
  for (const d of scalars) {
    W.series[d.name] = [];
    if (d.unit === firstUnit && W.picked.size < 4) W.picked.add(d.name);
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = W.picked.has(d.name);
    box.addEventListener("change", () => {
      if (box.checked) W.picked.add(d.name); else W.picked.delete(d.name);
      rebuildSeries();
    });
    label.append(box, " " + d.name + (d.unit ? " [" + d.unit + "]" : ""));
    picks.append(label);
  }
  setupSeriesChart();
  setupArrays();
  setupKnobs();
  setupControls();
  renderIndicators();
}

function setupSeriesChart() {
  W.charts.series = new Chart($("series"), {
    type: "line",
    data: { datasets: [] },
    options: {
      animation: false, parsing: false, normalized: true, maintainAspectRatio: false,
      scales: {
        x: { type: "linear", title: { display: true, text: "step" } },
        y: { type: "linear" },
        ymarks: { type: "linear", axis: "y", display: false, min: 0, max: 1 },
      },
      elements: { point: { radius: 0 }, line: { borderWidth: 1.5 } },
      plugins: {
        tooltip: {
          callbacks: {
            label: (ctx) => ctx.dataset.yAxisID === "ymarks" ? ctx.raw.text
              : ctx.dataset.label + ": " + fmt(ctx.raw.y),
          },
        },
      },
    },
  });
  rebuildSeries();
}

function rebuildSeries() {
  const chart = W.charts.series;
  const sets = [];
  let i = 0;
  for (const name of W.picked) {
    const c = SERIES_COLOURS[i++ % SERIES_COLOURS.length];
    sets.push({ label: name, data: W.series[name], borderColor: c, backgroundColor: c, yAxisID: "y" });
  }
  sets.push({
    label: "steering", type: "scatter", data: W.markers, yAxisID: "ymarks", parsing: true,
    pointStyle: "triangle", pointRadius: 8, pointHoverRadius: 10, borderColor: "#c00", backgroundColor: "#f55",
  });
  chart.data.datasets = sets;
  const units = [...W.picked].map((n) => diag(n).unit).filter((u, k, a) => a.indexOf(u) === k);
  chart.options.scales.y.title = { display: units.length > 0, text: units.join(", ") };
  chart.update("none");
}

function setupArrays() {
  const box = $("arrays");
  box.textContent = "";
  for (const d of W.hello.diagnostics) {
    if (d.rank !== 1 || !d.axis) continue;
    if (/^phase/.test(d.name) || /^phase/.test(d.axis)) {
      W.phase = { x: d.axis, v: d.name };
      continue;
    }
    const sec = document.createElement("div");
    const h = document.createElement("h2");
    h.textContent = d.name + " [" + d.unit + "] — " + d.description;
    const holder = document.createElement("div");
    holder.className = "chart";
    const canvas = document.createElement("canvas");
    canvas.id = "array-" + d.name;
    holder.append(canvas);
    sec.append(h, holder);
    box.append(sec);
    const ax = diag(d.axis);
    W.arrayCharts[d.name] = {
      axis: d.axis,
      chart: new Chart(canvas, {
        type: "line",
        data: { datasets: [{ label: d.name, data: [], borderColor: "#1f77b4", borderWidth: 1.5 }] },
        options: {
          animation: false, parsing: false, maintainAspectRatio: false,
          elements: { point: { radius: 0 } }, plugins: { legend: { display: false } },
          scales: {
            x: { type: "linear", title: { display: true, text: d.axis + (ax ? " [" + ax.unit + "]" : "") } },
            y: { title: { display: true, text: d.unit } },
          },
        },
      }),
    };
  }
  const px = W.phase && diag(W.phase.x), pv = W.phase && diag(W.phase.v);
  W.charts.phase = new Chart($("phase"), {
    type: "scatter",
    data: { datasets: [{ label: "particles", data: [], pointRadius: 1.5, borderWidth: 0, backgroundColor: "#1f77b4aa" }] },
    options: {
      animation: false, parsing: false, maintainAspectRatio: false, plugins: { legend: { display: false } },
      scales: {
        x: { type: "linear", title: { display: !!px, text: px ? px.name + " [" + px.unit + "]" : "" } },
        y: { type: "linear", title: { display: !!pv, text: pv ? pv.name + " [" + pv.unit + "]" : "" } },
      },
    },
  });
}

function knobCell(row, content) {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content); else td.textContent = content;
  row.append(td);
  return td;
}

function setupKnobs() {
  const body = $("knobs").tBodies[0];
  body.textContent = "";
  for (const k of W.hello.knobs) {
    const tr = document.createElement("tr");
    tr.title = k.description || "";
    knobCell(tr, k.name);
    const val = knobCell(tr, fmt(k.value));
    val.className = "num";
    val.id = "knob-" + k.name;
    knobCell(tr, k.unit || "");
    knobCell(tr, k.choices ? k.choices.join(" | ")
      : (k.min !== undefined ? fmt(k.min) + " … " + fmt(k.max) : ""));
    const setTd = knobCell(tr, "");
    const rampTd = knobCell(tr, "");
    setTd.className = rampTd.className = "op";
    if (k.runtime) {
      let input;
      if (k.choices) {
        input = document.createElement("select");
        for (const c of k.choices) input.append(new Option(c, c));
      } else {
        input = document.createElement("input");
        input.type = k.type === "bool" ? "checkbox" : "number";
        if (k.min !== undefined) { input.min = k.min; input.max = k.max; }
        input.step = "any";
      }
      input.id = "set-" + k.name;
      input.setAttribute("aria-label", "new value of " + k.name);
      const b = document.createElement("button");
      b.textContent = "set";
      b.id = "set-btn-" + k.name;
      b.addEventListener("click", () => {
        let v = k.type === "bool" ? input.checked : k.choices ? input.value : Number(input.value);
        if (typeof v === "number" && (input.value === "" || !isFinite(v)))
          return message(k.name + ": give a number in " + (k.unit || "its unit"), false);
        steer("set", { values: { [k.name]: v } });
      });
      setTd.append(input, b);
      if (k.type === "double" || k.type === "int") {
        const to = document.createElement("input");
        to.type = "number"; to.step = "any"; to.placeholder = "to";
        const steps = document.createElement("input");
        steps.type = "number"; steps.min = 1; steps.value = 1000; steps.placeholder = "steps";
        const rb = document.createElement("button");
        rb.textContent = "ramp";
        rb.addEventListener("click", () => {
          if (to.value === "") return message(k.name + ": ramp to what?", false);
          steer("ramp", { ramps: [{ knob: k.name, to: Number(to.value), steps: Number(steps.value) }] });
        });
        rampTd.append(to, steps, rb);
      }
    }
    body.append(tr);
  }
}

function setupControls() {
  $("pause").onclick = () => steer("pause");
  $("resume").onclick = () => steer("resume");
  $("step-btn").onclick = () => steer("step", { n: Number($("step-n").value) });
  $("ckpt").onclick = () => {
    const name = $("ckpt-name").value.trim();
    steer("checkpoint", name ? { name: name } : {});
  };
  const sel = $("search-knob");
  sel.textContent = "";
  for (const k of W.hello.knobs)
    if (k.runtime && (k.type === "double" || k.type === "int")) sel.append(new Option(k.name, k.name));
  $("search-go").onclick = () => {
    const body = { knob: sel.value, from: Number($("search-from").value), to: Number($("search-to").value),
      until: $("search-until").value.trim(), direction: $("search-dir").value };
    $("search-text").textContent = "searching " + body.knob + " in [" + body.from + ", " + body.to + "] …";
    steer("search", body).then((r) => {
      if (r.ok) $("search-text").textContent = "result " + fmt(r.body.result) + " (bracket " +
        r.body.bracket.map(fmt).join(" … ") + ", " + r.body.probes.length + " probes, " + r.body.steps + " steps)";
    });
  };
  $("search-cancel").onclick = () => steer("cancel", { search: true });
}

// Sets an element's text only when it changes: an unchanged page costs the
// browser no style, layout or paint work, however many frames arrive.
function setText(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}

function renderIndicators() {
  const key = [...W.indicators].map((n) => n + (W.scalars[n] ? "1" : "0")).join(",");
  if (key === W.indicatorKey) return;
  W.indicatorKey = key;
  const box = $("indicators");
  box.textContent = "";
  for (const name of W.indicators) {
    const on = !!W.scalars[name];
    const s = document.createElement("span");
    s.className = "lamp" + (on ? " on" : "");
    s.id = "lamp-" + name;
    s.textContent = name.replace(/_/g, " ") + (on ? " ●" : " ○");
    box.append(s);
  }
}

// ---------------------------------------------------------------- frames

function describe(e) {
  const who = e.client ? e.client + ": " : "";
  switch (e.event) {
    case "knob_changed": return who + "set " + e.knob + " " + fmt(e.old) + " → " + fmt(e.new);
    case "ramp_started": return who + "ramp " + e.knob + " " + fmt(e.from) + " → " + fmt(e.to) + " until step " + e.end_step;
    case "indicator": return e.name + (e.on ? " on" : " off");
    case "search_probe": return "search probe " + e.knob + " = " + fmt(e.value) + (e.bad ? " (holds)" : " (does not hold)");
    case "search_finished": return "search finished: " + (e.error ? e.error : e.knob + " = " + fmt(e.result));
    case "checkpoint_written": return "checkpoint " + e.path;
    default: return who + e.event;
  }
}

const STEERING = new Set(["knob_changed", "ramp_started", "paused", "resumed", "stepping",
  "rewound", "search_started", "search_finished"]);

function onEvent(e) {
  const li = document.createElement("li");
  li.textContent = "step " + e.step + ": " + describe(e);
  const list = $("events");
  list.prepend(li);
  while (list.children.length > 200) list.lastChild.remove();
  if (STEERING.has(e.event) && !(e.event === "knob_changed" && e.search)) {
    W.markers.push({ x: e.step, y: 0.92, text: describe(e) });
  }
  if (e.event === "indicator") W.indicators.add(e.name);
  if (e.event === "rewound") cutAfter(e.to_step);
  if (e.event === "search_started") W.search = { from: e.from, to: e.to, tol: e.tol };
  if (e.event === "search_probe" && W.search) {
    const good = e.good, bad = e.bad_value;
    let p = 0;
    if (good !== null && bad !== null && bad > 0) {
      const w0 = W.search.to - W.search.from, w = bad - good, goal = W.search.tol * bad;
      p = Math.min(1, Math.log(w0 / w) / Math.log(w0 / goal));
    }
    $("search-bar").value = Math.max(0, p);
    $("search-text").textContent = "probe " + e.probes + ": " + e.knob + " = " + fmt(e.value) +
      ", bracket " + fmt(good) + " … " + fmt(bad) + ", " + e.total_steps + " steps";
  }
  if (e.event === "search_finished") {
    $("search-bar").value = e.error ? 0 : 1;
    W.search = null;
  }
}

// The run's past (steerd's history), placed before what the frames brought.
function onHistory(h) {
  W.history = h;
  if (!h.ok) return;
  for (const name in h.series) {
    const s = W.series[name];
    if (!s) continue;
    const first = s.length ? s[0].x : Infinity;
    const past = [];
    h.steps.forEach((x, i) => { if (x < first) past.push({ x: x, y: h.series[name][i] }); });
    s.unshift(...past);
    if (s.length > MAX_POINTS + past.length) s.splice(0, s.length - MAX_POINTS - past.length);
  }
  for (const m of h.markers) {
    const e = m.entry, who = e.client ? e.client + ": " : "";
    let text;
    if (e.knob !== undefined && e.new !== undefined && !e.search)
      text = who + "set " + e.knob + " " + fmt(e.old) + " → " + fmt(e.new);
    else
      text = who + Object.keys(e).filter((k) => k !== "step" && k !== "client")
        .map((k) => k + " " + (typeof e[k] === "number" ? fmt(e[k]) : e[k])).join(", ");
    if (!W.markers.some((o) => o.x === m.step && o.text === text))
      W.markers.push({ x: m.step, y: 0.92, text: text });
  }
  W.markers.sort((a, b) => a.x - b.x);
  W.charts.series.update("none");
}

function cutAfter(step) {
  for (const name in W.series) {
    const s = W.series[name];
    while (s.length && s[s.length - 1].x > step) s.pop();
  }
}

function onFrame(f) {
  W.frames++;
  W.connected = f.connected;
  W.state = f.state;
  if (W.step !== null && f.step < W.step) cutAfter(f.step);
  W.step = f.step;
  W.knobs = f.knobs;
  W.scalars = f.scalars;
  for (const e of f.events) onEvent(e);
  for (const name in f.scalars) {
    const s = W.series[name];
    if (!s) continue;
    if (!s.length || s[s.length - 1].x !== f.step) s.push({ x: f.step, y: f.scalars[name] });
    if (s.length > MAX_POINTS) s.splice(0, s.length - MAX_POINTS);
  }
  const first = W.series[[...W.picked][0]];
  if (first && first.length) {
    const x0 = first[0].x;
    while (W.markers.length && W.markers[0].x < x0 && W.markers.length > 200) W.markers.shift();
  }
  W.latestArrays = f.arrays || W.latestArrays;
  requestAnimationFrame(() => draw(f));
}

function drawSeries() {
  const wait = (W.seriesDrawn || 0) + SERIES_EVERY_MS - performance.now();
  if (wait <= 0) {
    W.seriesDrawn = performance.now();
    W.charts.series.update("none");
  } else if (!W.seriesTimer) {
    W.seriesTimer = setTimeout(() => { W.seriesTimer = null; drawSeries(); }, wait);
  }
}

function draw(f) {
  const st = $("state");
  setText(st, f.connected ? f.state : "disconnected");
  const badge = "badge " + (f.connected ? f.state : "disconnected");
  if (st.className !== badge) st.className = badge;
  setText($("step"), String(f.step));
  setText($("time"), fmt(f.time) + " s");
  setText($("rate"), fmt(Math.round(f.rate)));
  for (const k in f.knobs) setText($("knob-" + k), fmt(f.knobs[k]));
  renderIndicators();
  drawSeries();
  if (f.arrays) {
    const a = f.arrays;
    for (const name in W.arrayCharts) {
      const ac = W.arrayCharts[name];
      if (!a[name] || !a[ac.axis]) continue;
      const xs = a[ac.axis].values, ys = a[name].values;
      ac.chart.data.datasets[0].data = ys.map((y, i) => ({ x: xs[i], y: y }));
      ac.chart.update("none");
    }
    if (W.phase && a[W.phase.x] && a[W.phase.v]) {
      const xs = a[W.phase.x].values, vs = a[W.phase.v].values;
      W.charts.phase.data.datasets[0].data = vs.map((v, i) => ({ x: xs[i], y: v }));
      W.charts.phase.update("none");
    }
  }
  // Drawn: ready for the next frame.
  if (W.ws.readyState === WebSocket.OPEN) W.ws.send('{"type":"ack"}');
}

// ---------------------------------------------------------------- connection

function connect() {
  const ws = new WebSocket("ws://" + location.host + "/ws", "steer-web");
  W.ws = ws;
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === "hello") setup(msg);
    else if (msg.type === "frame") onFrame(msg);
    else if (msg.type === "reply") onReply(msg);
    else if (msg.type === "history") onHistory(msg);
  };
  ws.onclose = (e) => {
    const st = $("state");
    st.textContent = "disconnected";
    st.className = "badge disconnected";
    message(e.code === 4001 ? "this session was revoked" :
      "the connection to steer-web closed; reload the page (its address: the one steer-web printed)", false);
  };
}

connect();
