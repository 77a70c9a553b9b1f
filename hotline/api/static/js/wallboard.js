/* The supervisor's wallboard: live queues and seats over /api/ws/wallboard, KPIs with
 * their definitions, staffing advice, hourly charts, overdue orders, the mode switch
 * (confirmed, with a reason) and its history. */
"use strict";

(function () {
  const H = window.Hotline;
  const el = H.el;
  const OPEN_AT_DEPARTMENT = ["dispatched", "signed", "in_progress"];
  // The 15-second answer rate (GB/T 33358) first, beside the answer rate and service
  // level; each KPI shows what it divides by what right under its value.
  const QUEUE_KPIS = ["answer_rate_15s", "answer_rate", "service_level", "abandoned",
                      "abandoned_short"];
  const CENTRE_KPIS = ["answer_rate_15s", "answer_rate", "service_level", "abandoned",
                       "abandoned_short", "asa_s", "occupancy"];
  const RATE_KPIS = ["answer_rate_15s", "service_level"];  // coloured against the target
  const TODAY_FIGURES = ["offered", "offered_to_agents", "answered", "answer_rate",
                         "answer_rate_15s", "abandoned_in_ivr", "abandoned_in_queue",
                         "abandoned_short", "direct_answer_rate", "satisfaction"];
  const STATE_ORDER = ["ready", "ringing", "on-call", "wrap-up", "paused"];
  const SL_TARGET = 0.8;  // the staffing target below (80 % within 15 s)
  const HOURS = 8;

  const state = {
    live: null, kpis: null, offset: 0, staffing: null, staffingError: null, history: [],
    overdue: [], today: null, hourly: null, waiting: [], lastMode: null, charts: {},
  };

  const now = () => Date.now() / 1000 + state.offset;

  // --- KPI helpers ---------------------------------------------------------------------

  function scope(name, window) {
    if (!state.kpis) return null;
    return state.kpis.scopes.find((s) => s.scope === name && (!window || s.window === window));
  }

  function kpiOf(scopeObj, name) {
    return scopeObj ? scopeObj.kpis.find((k) => k.name === name) : null;
  }

  function kpiRow(name, kpi, extraClass) {
    const definition = H.kpiDefinition(name, kpi ? kpi.definition : "");
    return el("div", {class: "kpi " + (extraClass || ""), title: definition, data: {kpi: name}},
      el("span", {class: "kpi-name", text: H.t("kpi." + name)}),
      el("span", {class: "kpi-value", text: H.kpiValue(kpi)}),
      el("small", {class: "kpi-def", text: definition}));
  }

  function slClass(kpi) {
    if (!kpi || kpi.value === null) return "";
    return kpi.value >= SL_TARGET ? "good" : "bad";
  }

  // --- tiles ---------------------------------------------------------------------------

  function centreTile() {
    const k = state.kpis;
    const recent = scope("centre", "last 15 minutes");
    const today = scope("centre", "today");
    const rows = CENTRE_KPIS.map((name) => {
      const kpi = kpiOf(recent, name);
      return kpiRow(name, kpi, RATE_KPIS.includes(name) ? slClass(kpi) : "");
    });
    return el("article", {class: "tile tile-centre", data: {queue: "*"}},
      el("h3", {text: H.t("wb.centre")}),
      el("div", {class: "big"},
        el("div", {class: "big-figure", data: {figure: "waiting"}},
          el("span", {class: "label", text: H.t("wb.waiting")}),
          el("span", {class: "value", text: k ? String(k.waiting_now) : H.t("common.na")})),
        el("div", {class: "big-figure", data: {figure: "longest"}},
          el("span", {class: "label", text: H.t("wb.longest")}),
          el("span", {class: "value", text: k ? H.duration(k.longest_wait_s) : H.t("common.na")}))),
      el("div", {class: "window", text: H.t("wb.window_15")}),
      rows,
      el("div", {class: "window", text: H.t("wb.window_today")}),
      ["offered", "answered", "answer_rate_15s", "service_level"].map((name) =>
        kpiRow(name, kpiOf(today, name))));
  }

  function queueTile(queue) {
    const today = scope("queue:" + queue.name, "today");
    return el("article", {class: "tile" + (queue.waiting_count > 0 ? " has-waiting" : ""),
                          data: {queue: queue.name}},
      el("h3", {text: H.t("wb.queue", {name: queue.name})}),
      el("div", {class: "big"},
        el("div", {class: "big-figure", data: {figure: "waiting"}},
          el("span", {class: "label", text: H.t("wb.waiting")}),
          el("span", {class: "value", text: String(queue.waiting_count)})),
        el("div", {class: "big-figure", data: {figure: "longest"}},
          el("span", {class: "label", text: H.t("wb.longest")}),
          el("span", {class: "value", text: H.duration(queue.longest_wait_s)}))),
      el("div", {class: "kpi", data: {kpi: "staffed"}},
        el("span", {class: "kpi-name", text: H.t("wb.staffed")}),
        el("span", {class: "kpi-value", text: String(queue.staffed)})),
      el("div", {class: "window", text: H.t("wb.window_today")}),
      QUEUE_KPIS.map((name) => {
        const kpi = kpiOf(today, name);
        return kpiRow(name, kpi, RATE_KPIS.includes(name) ? slClass(kpi) : "");
      }),
      el("div", {class: "target small", text: H.t("wb.sl_target", {target: "80%/15s"})}));
  }

  function renderTiles() {
    const box = document.getElementById("tiles");
    if (!state.live) return;
    H.replace(box, centreTile(), state.live.queues.map(queueTile));
  }

  // --- mode ----------------------------------------------------------------------------

  function modeName(mode) {
    return H.has("mode." + mode) ? H.t("mode." + mode) : mode;
  }

  function latestSwitch() {
    return state.history.length ? state.history[0] : null;
  }

  function renderMode() {
    if (!state.live) return;
    const mode = state.live.mode;
    const emergency = mode !== "normal";
    document.body.classList.toggle("mode-emergency", emergency);
    document.body.dataset.mode = mode;
    const banner = document.getElementById("banner");
    if (emergency) {
      let text = H.t("wb.banner", {since: H.dateTime(state.live.mode_since)});
      const last = latestSwitch();
      if (last && last.to_mode === mode && last.until) {
        text += H.t("wb.banner_until", {until: H.dateTime(last.until)});
      }
      banner.textContent = "⚠ " + modeName(mode) + " · " + text;
      if (last && last.to_mode === mode) banner.textContent += " · " + last.by + "：" + last.reason;
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
    // A centre that has never switched reports mode_since 0: no "since" then.
    const since = state.live.mode_since > 0 ? H.dateTime(state.live.mode_since) : H.t("common.na");
    document.getElementById("mode-now").textContent = H.t("wb.mode_now", {
      mode: modeName(mode), since});
    const button = document.getElementById("mode-switch");
    button.textContent = H.t(emergency ? "wb.switch_to_normal" : "wb.switch_to_emergency");
    button.className = emergency ? "primary" : "danger";
    button.dataset.target = emergency ? "normal" : "emergency";
    if (state.lastMode !== null && state.lastMode !== mode) loadHistory();
    state.lastMode = mode;
  }

  function openDialog() {
    const target = document.getElementById("mode-switch").dataset.target;
    const dialog = document.getElementById("mode-dialog");
    dialog.dataset.target = target;
    document.getElementById("mode-dialog-title").textContent =
      H.t("wb.dialog_title", {mode: modeName(target)});
    document.getElementById("mode-reason").value = "";
    document.getElementById("mode-until").value = "";
    document.getElementById("mode-error").hidden = true;
    dialog.showModal();
    document.getElementById("mode-reason").focus();
  }

  async function confirmSwitch(event) {
    event.preventDefault();
    const dialog = document.getElementById("mode-dialog");
    const error = document.getElementById("mode-error");
    const reason = document.getElementById("mode-reason").value.trim();
    if (!reason) {
      error.textContent = H.t("wb.dialog_reason_required");
      error.hidden = false;
      return;
    }
    const body = {mode: dialog.dataset.target, reason, confirm: true};
    const until = H.localInputToIso(document.getElementById("mode-until").value);
    if (until) body.until = until;
    const button = document.getElementById("mode-confirm");
    button.disabled = true;
    try {
      await H.api("POST", "/api/mode", body);
      dialog.close();
      H.toast(H.t("wb.switched", {mode: modeName(body.mode)}), "ok");
      await loadHistory();
    } catch (e) {
      error.textContent = H.t("common.error", {msg: e.message});
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  async function loadHistory() {
    try {
      state.history = await H.api("GET", "/api/mode/history?limit=20");
    } catch (e) {
      return;
    }
    renderHistory();
    renderMode();
  }

  function renderHistory() {
    const body = document.getElementById("history");
    if (!state.history.length) {
      H.replace(body, el("tr", {}, el("td", {colspan: "5", class: "muted", text: H.t("wb.history_none")})));
      return;
    }
    H.replace(body, state.history.map((row) => el("tr", {},
      el("td", {text: H.dateTime(row.at)}),
      el("td", {text: modeName(row.from_mode) + " → " + modeName(row.to_mode)}),
      el("td", {text: row.by}),
      el("td", {text: row.reason}),
      el("td", {text: row.until ? H.dateTime(row.until) : H.t("common.na")}))));
  }

  // --- seats ---------------------------------------------------------------------------

  function renderSeats() {
    if (!state.live) return;
    const seats = state.live.seats.filter((s) => s.state !== "logged-out");
    const counts = {};
    seats.forEach((s) => { counts[s.state] = (counts[s.state] || 0) + 1; });
    H.replace(document.getElementById("seat-counts"), STATE_ORDER.map((st) =>
      el("span", {class: "count state-" + st, data: {state: st}},
        H.t("state." + st) + " " + (counts[st] || 0))));
    const grid = document.getElementById("seats");
    if (!seats.length) {
      H.replace(grid, el("p", {class: "muted", text: H.t("wb.no_seats")}));
      return;
    }
    const sorted = seats.slice().sort((a, b) =>
      STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state) || a.seat_id.localeCompare(b.seat_id));
    H.replace(grid, sorted.map((s) => {
      const reason = s.state === "paused" && s.reason
        ? (H.has("pause." + s.reason) ? H.t("pause." + s.reason) : s.reason) : "";
      return el("div", {class: "seat state-" + s.state, data: {agent: s.agent_id, state: s.state},
                        title: s.call_id || ""},
        el("div", {class: "seat-id", text: s.seat_id + " · " + s.agent_id}),
        el("div", {class: "seat-state", text: H.t("state." + s.state) + (reason ? " · " + reason : "")}),
        el("div", {class: "seat-time", data: {since: String(s.since)}, text: H.duration(now() - s.since)}),
        softphone(s),
        s.guest ? el("div", {class: "seat-guest", text: H.t("wb.seat_guest")}) : null);
    }));
  }

  /* The softphone's registration (AMI): registered, not registered, or unknown when the
   * centre runs without AMI or has not seen the extension yet. */
  const PHONES = {
    registered: ["●", "wb.phone_registered"],
    unregistered: ["○", "wb.phone_unregistered"],
    unknown: ["?", "wb.phone_unknown"],
  };

  function softphone(seat) {
    const phone = seat.softphone in PHONES ? seat.softphone : "unknown";
    const [mark, key] = PHONES[phone];
    const since = seat.softphone_since ? " · " + H.dateTime(seat.softphone_since) : "";
    return el("div", {class: "seat-phone phone-" + phone, data: {softphone: phone},
                      title: (seat.endpoint || "") + since},
      mark + " " + H.t(key));
  }

  function tickSeats() {
    document.querySelectorAll(".seat-time[data-since]").forEach((node) => {
      node.textContent = H.duration(now() - Number(node.dataset.since));
    });
  }

  // --- staffing, today, overdue -----------------------------------------------------------

  async function loadStaffing() {
    try {
      state.staffing = await H.api("GET", "/api/staffing");
      state.staffingError = null;
    } catch (e) {
      state.staffingError = e.message;
    }
    renderStaffing();
  }

  function figure(label, value, cls) {
    return el("div", {class: "figure " + (cls || "")},
      el("span", {class: "label", text: label}), el("span", {class: "value", text: value}));
  }

  function renderStaffing() {
    const box = document.getElementById("staffing");
    const s = state.staffing;
    if (!s) {
      H.replace(box, el("p", {class: "muted", text: state.staffingError || H.t("common.na")}));
      return;
    }
    H.replace(box,
      figure(H.t("wb.staffing_needed"), String(s.agents_needed)),
      figure(H.t("wb.staffing_logged"), s.logged_in === null ? H.t("common.na") : String(s.logged_in)),
      figure(H.t("wb.staffing_gap"), s.gap === null ? H.t("common.na") : (s.gap > 0 ? "+" : "") + s.gap,
             s.gap > 0 ? "bad" : "good"),
      figure(H.t("wb.staffing_sl"), H.percent(s.predicted_service_level)),
      figure(H.t("wb.staffing_asa"), H.duration(s.predicted_asa_s)),
      figure(H.t("wb.staffing_occ"), H.percent(s.predicted_occupancy)));
    document.getElementById("staffing-basis").textContent =
      H.t("wb.staffing_model", {model: s.model, target: s.target,
                                cph: s.calls_per_hour.toFixed(0), aht: s.aht_s.toFixed(0)}) +
      " · " + s.basis;
  }

  function localDate(d) {
    return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" +
      String(d.getDate()).padStart(2, "0");
  }

  async function loadToday() {
    const day = localDate(new Date());
    try {
      const report = await H.api("GET", "/api/reports/daily?from=" + day + "&to=" + day);
      state.today = report.days.length ? report.days[report.days.length - 1] : null;
    } catch (e) {
      state.today = null;
    }
    renderToday();
  }

  function renderToday() {
    const box = document.getElementById("today");
    if (!state.today) {
      H.replace(box, el("p", {class: "muted", text: H.t("common.na")}));
      return;
    }
    const byName = Object.fromEntries(state.today.figures.map((f) => [f.name, f]));
    const names = TODAY_FIGURES.filter((n) => n in byName)
      .concat(state.today.figures.map((f) => f.name).filter((n) => !TODAY_FIGURES.includes(n)));
    H.replace(box, names.map((name) => {
      const f = byName[name];
      const ratio = name.endsWith("rate") || name.endsWith("_15s") || name === "satisfaction";
      const value = f.value === null ? H.t("common.na") : ratio ? H.percent(f.value) : String(Math.round(f.value));
      const definition = H.kpiDefinition(name, f.definition);
      return el("div", {class: "figure", title: definition, data: {kpi: name}},
        el("span", {class: "label", text: H.has("kpi." + name) ? H.t("kpi." + name) : name}),
        el("span", {class: "value", text: value}),
        el("small", {class: "def", text: definition}));
    }));
  }

  async function loadOverdue() {
    try {
      const orders = await H.api("GET", "/api/workorders?limit=500");
      const t = now();
      state.overdue = orders
        .filter((o) => OPEN_AT_DEPARTMENT.includes(o.status) && o.deadline && H.isoToEpoch(o.deadline) < t)
        .sort((a, b) => H.isoToEpoch(a.deadline) - H.isoToEpoch(b.deadline));
    } catch (e) {
      state.overdue = [];
    }
    renderOverdue();
  }

  function renderOverdue() {
    const box = document.getElementById("overdue");
    if (!state.overdue.length) {
      H.replace(box, el("li", {class: "muted", text: H.t("wb.overdue_none")}));
      return;
    }
    H.replace(box, state.overdue.slice(0, 12).map((o) => el("li", {class: "deadline-red"},
      el("strong", {text: o.number}), " ",
      el("span", {text: (o.department || "") + " · " + H.t("order.status." + o.status)}), " ",
      el("span", {class: "late", text: H.t("wb.overdue_by", {
        d: H.longDuration(now() - H.isoToEpoch(o.deadline))})}))));
  }

  // --- charts ----------------------------------------------------------------------------

  async function loadHourly() {
    const end = now();
    const start = Math.floor((end - HOURS * 3600) / 3600) * 3600;
    const since = new Date(start * 1000).toISOString();
    const calls = [];
    try {
      for (let offset = 0; offset < 2000; offset += 500) {
        const page = await H.api("GET", "/api/calls?limit=500&offset=" + offset +
                                 "&since=" + encodeURIComponent(since));
        calls.push(...page.calls);
        if (calls.length >= page.total || !page.calls.length) break;
      }
    } catch (e) {
      return;
    }
    const buckets = [];
    for (let h = start; h <= end; h += 3600) buckets.push({at: h, offered: 0, answered: 0, abandoned: 0});
    calls.forEach((c) => {
      const i = Math.floor((c.arrived_at - start) / 3600);
      if (i < 0 || i >= buckets.length) return;
      buckets[i].offered += 1;
      if (c.answered_at !== null) buckets[i].answered += 1;
      else if (c.outcome && c.outcome.indexOf("abandon") >= 0) buckets[i].abandoned += 1;
    });
    state.hourly = buckets;
    renderCharts();
  }

  function hourLabel(epoch) {
    const d = new Date(epoch * 1000);
    return String(d.getHours()).padStart(2, "0") + ":00";
  }

  function chart(id) {
    if (!window.echarts) return null;
    if (!state.charts[id]) {
      const node = document.getElementById(id);
      state.charts[id] = window.echarts.init(node, null, {renderer: "canvas"});
    }
    return state.charts[id];
  }

  function renderCharts() {
    const hourly = chart("chart-hourly");
    if (hourly && state.hourly) {
      hourly.setOption({
        animation: false,
        tooltip: {trigger: "axis"},
        legend: {top: 0},
        grid: {left: 40, right: 16, top: 30, bottom: 24},
        xAxis: {type: "category", data: state.hourly.map((b) => hourLabel(b.at))},
        yAxis: {type: "value", minInterval: 1},
        series: [
          {name: H.t("wb.chart_offered"), type: "bar", data: state.hourly.map((b) => b.offered)},
          {name: H.t("wb.chart_answered"), type: "bar", data: state.hourly.map((b) => b.answered)},
          {name: H.t("wb.chart_abandoned"), type: "line", data: state.hourly.map((b) => b.abandoned)},
        ],
      }, true);
    }
    renderWaiting();
  }

  function renderWaiting() {
    const waiting = chart("chart-waiting");
    if (waiting) {
      waiting.setOption({
        animation: false,
        tooltip: {trigger: "axis"},
        grid: {left: 40, right: 16, top: 16, bottom: 24},
        xAxis: {type: "time", min: (now() - 3600) * 1000, max: now() * 1000},
        yAxis: {type: "value", minInterval: 1},
        series: [{name: H.t("wb.chart_waiting_series"), type: "line", step: "end", showSymbol: false,
                  areaStyle: {}, data: state.waiting.map((p) => [p[0] * 1000, p[1]])}],
      }, true);
    }
  }

  function sampleWaiting() {
    if (!state.kpis) return;
    const t = now();
    const last = state.waiting[state.waiting.length - 1];
    if (last && t - last[0] < 5 && last[1] === state.kpis.waiting_now) return;
    state.waiting.push([t, state.kpis.waiting_now]);
    while (state.waiting.length && state.waiting[0][0] < t - HOURS * 3600) state.waiting.shift();
    renderWaiting();
  }

  // --- wiring ------------------------------------------------------------------------------

  function onMessage(message) {
    if (!message.live) return;
    state.live = message.live;
    state.offset = message.live.at - Date.now() / 1000;
    if (message.kpis) state.kpis = message.kpis;
    renderMode();
    renderTiles();
    renderSeats();
    sampleWaiting();
  }

  function renderAll() {
    renderMode();
    renderTiles();
    renderSeats();
    renderStaffing();
    renderToday();
    renderOverdue();
    renderHistory();
    renderCharts();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const session = H.requireUser(["supervisor", "admin"]);
    if (!session) return;
    H.header("wb.title", session.user);
    H.applyLanguage();
    H.onLanguage.push(renderAll);
    document.getElementById("mode-switch").addEventListener("click", openDialog);
    document.getElementById("mode-form").addEventListener("submit", confirmSwitch);
    document.getElementById("mode-cancel").addEventListener("click", () =>
      document.getElementById("mode-dialog").close());
    window.addEventListener("resize", () => Object.values(state.charts).forEach((c) => c.resize()));
    window.hotlineSocket = H.liveSocket("/api/ws/wallboard", onMessage, H.connection);
    renderAll();
    loadHistory();
    loadStaffing();
    loadToday();
    loadOverdue();
    loadHourly();
    setInterval(tickSeats, 1000);
    setInterval(loadStaffing, 15000);
    setInterval(loadToday, 60000);
    setInterval(loadOverdue, 60000);
    setInterval(loadHourly, 60000);
  });
})();
