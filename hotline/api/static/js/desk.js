/* The agent's desk: seat state buttons, the screen pop of the call on the seat (live
 * over /api/ws/desk) with the caller's past calls and work orders (the server sends them
 * with the pop, newest first), the work-order form (register, dispatch, answer directly)
 * and the wrap-up timer; call controls on the current call. */
"use strict";

(function () {
  const H = window.Hotline;
  const el = H.el;
  const SEAT_KEY = "hotline.seat";
  const PAUSE_REASONS = ["break", "lunch", "training", "meeting"];

  const state = {
    agentId: null, desk: null, offset: 0, catalogue: null,
    call: null,          // the screen pop on show (kept after the call ends, for the order)
    orderCall: null,     // the call id the form was last filled for
    created: null,       // the order registered from the current call
    held: false,         // the citizen is on hold (music) by this agent
  };

  const now = () => Date.now() / 1000 + state.offset;

  // --- state buttons ---------------------------------------------------------------------

  function seatState() {
    return state.desk && state.desk.seat ? state.desk.seat.state : "logged-out";
  }

  function renderState() {
    const st = seatState();
    const seat = state.desk ? state.desk.seat : null;
    const label = document.getElementById("seat-state");
    label.dataset.state = st;
    label.className = "state-label state-" + st;
    let text = H.t("state." + st);
    if (st === "paused" && seat && seat.reason) {
      text += " · " + (H.has("pause." + seat.reason) ? H.t("pause." + seat.reason) : seat.reason);
    }
    label.textContent = text;
    document.getElementById("agent-id").textContent = H.t("desk.agent", {id: state.agentId}) +
      (seat ? " · " + seat.seat_id : "");
    const enabled = {
      "btn-login": st === "logged-out",
      "btn-ready": st === "paused",
      "btn-pause": st === "ready" || st === "wrap-up",
      "btn-wrap-done": st === "wrap-up",
      "btn-logout": st === "ready" || st === "paused" || st === "wrap-up",
    };
    const talking = st === "on-call";
    enabled["btn-hold"] = talking;
    enabled["btn-transfer"] = talking;
    enabled["btn-conference"] = talking;
    enabled["btn-hangup"] = talking;
    if (!talking) state.held = false;
    document.getElementById("btn-hold").textContent = H.t(state.held ? "desk.resume" : "desk.hold");
    Object.entries(enabled).forEach(([id, on]) => { document.getElementById(id).disabled = !on; });
    document.getElementById("seat-input").disabled = st !== "logged-out";
    document.getElementById("pause-reason").disabled = !enabled["btn-pause"];
    document.body.dataset.seatState = st;
    tick();
  }

  function tick() {
    const seat = state.desk ? state.desk.seat : null;
    const since = document.getElementById("seat-since");
    const wrap = document.getElementById("wrap-timer");
    if (!seat) {
      since.textContent = "";
      wrap.hidden = true;
      return;
    }
    const elapsed = now() - seat.since;
    since.textContent = H.t("desk.since", {t: H.duration(elapsed)});
    if (seat.state === "wrap-up") {
      wrap.textContent = H.t("desk.wrap_timer", {t: H.duration(elapsed)});
      wrap.hidden = false;
    } else {
      wrap.hidden = true;
    }
  }

  async function seatAction(path, body) {
    try {
      const desk = await H.api("POST", "/api/agents/" + encodeURIComponent(state.agentId) + path, body);
      applyDesk(desk);
    } catch (e) {
      H.toast(H.t("common.error", {msg: e.message}), "error");
    }
  }

  /* Call controls act on the agent's current call; the PBX carries them out. */
  async function callControl(path, body) {
    try {
      await H.api("POST", "/api/agents/" + encodeURIComponent(state.agentId) + "/call/" + path, body);
      return true;
    } catch (e) {
      H.toast(H.t("common.error", {msg: e.message}), "error");
      return false;
    }
  }

  async function toggleHold() {
    if (await callControl(state.held ? "resume" : "hold")) {
      state.held = !state.held;
      document.getElementById("btn-hold").textContent = H.t(state.held ? "desk.resume" : "desk.hold");
    }
  }

  async function transferCall() {
    const queue = window.prompt(H.t("desk.transfer_prompt"));
    if (queue) await callControl("transfer", {queue: queue.trim()});
  }

  async function conference() {
    const number = window.prompt(H.t("desk.conference_prompt"));
    if (number) await callControl("three-way", {number: number.trim()});
  }

  function fillPauseReasons() {
    const select = document.getElementById("pause-reason");
    const current = select.value || PAUSE_REASONS[0];
    H.replace(select, PAUSE_REASONS.map((r) => el("option", {value: r, text: H.t("pause." + r)})));
    select.value = current;
  }

  // --- screen pop --------------------------------------------------------------------------

  function renderPop() {
    const call = state.call;
    const title = document.getElementById("pop-title");
    const pop = document.getElementById("pop");
    const panel = document.getElementById("pop-panel");
    const st = seatState();
    if (!call) {
      title.textContent = H.t("desk.no_call");
      pop.hidden = true;
      panel.className = "panel wide";
      renderOrderForm();
      return;
    }
    const ended = call.ended_at !== null || (st !== "ringing" && st !== "on-call");
    title.textContent = ended ? H.t("desk.call_ended")
      : st === "ringing" ? H.t("desk.incoming") : H.t("desk.in_call");
    panel.className = "panel wide " + (ended ? "call-ended" : st === "ringing" ? "call-ringing" : "call-live");
    pop.hidden = false;
    pop.dataset.call = call.call_id;
    document.getElementById("pop-caller").textContent = call.caller || H.t("desk.withheld");
    document.getElementById("pop-line").textContent = call.line;
    document.getElementById("pop-queue").textContent = call.queue || H.t("common.na");
    document.getElementById("pop-tags").textContent = call.tags.length ? call.tags.join("、") : H.t("common.none");
    H.replace(document.getElementById("pop-path"), call.ivr_path.map((step) =>
      el("span", {class: "step", text: step})));
    document.getElementById("pop-transcript").textContent = call.transcript || H.t("common.none");
    document.getElementById("pop-category").textContent = call.suggested_category
      ? (call.suggested_category_name || "") + "（" + call.suggested_category + "）" : H.t("common.none");
    document.getElementById("pop-department").textContent = call.suggested_department
      ? departmentName(call.suggested_department) : H.t("common.none");
    renderCallerHistory();
    renderOrderForm();
  }

  /* The caller's earlier calls and orders, as the server found them for this call
   * (none for a withheld number). */
  function renderCallerHistory() {
    const history = state.call ? state.call.history : null;
    if (state.call && !history) {  // the store was slow: it comes with a later push
      const pending = () => el("li", {class: "muted", text: H.t("desk.history_pending")});
      H.replace(document.getElementById("pop-calls"), pending());
      H.replace(document.getElementById("pop-orders"), pending());
      return;
    }
    const calls = history ? history.calls : [];
    const orders = history ? history.orders : [];
    const more = (items) => history && items.length >= history.limit
      ? el("li", {class: "muted small", text: H.t("desk.history_more", {n: history.limit})}) : null;
    H.replace(document.getElementById("pop-calls"), calls.length
      ? calls.map((c) => el("li", {class: "past-call", data: {call: c.call_id}},
          H.dateTime(c.arrived_at), " · ", c.line, " · ",
          c.outcome ? (H.has("outcome." + c.outcome) ? H.t("outcome." + c.outcome) : c.outcome)
            : H.t("common.na"),
          c.agent ? " · " + H.t("desk.agent", {id: c.agent}) : "")).concat(more(calls))
      : el("li", {class: "muted", text: H.t("desk.history_none")}));
    H.replace(document.getElementById("pop-orders"), orders.length
      ? orders.map((o) => el("li", {class: "past-order", data: {number: o.number}},
          el("strong", {text: o.number}), " ",
          H.dateTime(H.isoToEpoch(o.created_at)), " · ", categoryName(o.category), " · ",
          H.t("order.status." + o.status),
          o.content ? el("div", {class: "small muted", text: o.content}) : null)).concat(more(orders))
      : el("li", {class: "muted", text: H.t("desk.history_none")}));
  }

  // --- the work-order form --------------------------------------------------------------

  function departmentName(code) {
    const cat = state.catalogue;
    const d = cat ? cat.departments.find((x) => x.code === code) : null;
    return d ? d.name + "（" + code + "）" : code;
  }

  function categoryName(code) {
    const cat = state.catalogue;
    const c = cat && code ? cat.categories.find((x) => x.code === code) : null;
    return c ? c.name : (code || H.t("common.na"));
  }

  function fillCatalogue() {
    const cat = state.catalogue;
    if (!cat) return;
    const category = document.getElementById("order-category");
    const department = document.getElementById("order-department");
    const keepC = category.value;
    const keepD = department.value;
    H.replace(category, el("option", {value: "", text: H.t("desk.order_choose")}),
      cat.categories.map((c) => el("option", {value: c.code,
        text: "\u3000".repeat(Math.max(0, c.code.length / 2 - 1)) + c.code + " " + c.name})));
    H.replace(department, el("option", {value: "", text: H.t("desk.order_choose")}),
      cat.departments.map((d) => el("option", {value: d.code, text: d.name + "（" + d.code + "）"})));
    category.value = keepC;
    department.value = keepD;
  }

  function renderOrderForm() {
    const call = state.call;
    const usable = call !== null;
    ["btn-order-create", "btn-order-dispatch", "btn-order-answer"].forEach((id) => {
      document.getElementById(id).disabled = !usable || state.created !== null;
    });
    document.getElementById("order-note").hidden = usable;
    if (call && state.orderCall !== call.call_id) {
      // A new call: fill the form from the screen pop.
      state.orderCall = call.call_id;
      state.created = null;
      document.getElementById("order-result").textContent = "";
      document.getElementById("order-category").value = call.suggested_category || "";
      document.getElementById("order-department").value = call.suggested_department || "";
      document.getElementById("order-content").value = call.transcript || "";
      document.getElementById("order-address").value = "";
      document.getElementById("order-caller-name").value = "";
      document.getElementById("order-answer").value = "";
      ["btn-order-create", "btn-order-dispatch", "btn-order-answer"].forEach((id) => {
        document.getElementById(id).disabled = false;
      });
    }
  }

  function onCategory() {
    const cat = state.catalogue;
    const code = document.getElementById("order-category").value;
    const c = cat ? cat.categories.find((x) => x.code === code) : null;
    if (c && c.department) document.getElementById("order-department").value = c.department;
  }

  async function submitOrder(then) {
    const call = state.call;
    const result = document.getElementById("order-result");
    if (!call) return;
    const department = document.getElementById("order-department").value;
    const answer = document.getElementById("order-answer").value.trim();
    if (then === "dispatch" && !department) {
      H.toast(H.t("desk.order_department") + "：" + H.t("desk.order_choose"), "error");
      return;
    }
    if (then === "answer" && !answer) {
      H.toast(H.t("dept.answer_required"), "error");
      return;
    }
    const body = {
      call_id: call.call_id,
      content: document.getElementById("order-content").value,
      address: document.getElementById("order-address").value,
      caller_name: document.getElementById("order-caller-name").value,
    };
    const category = document.getElementById("order-category").value;
    if (category) body.category = category;
    const buttons = ["btn-order-create", "btn-order-dispatch", "btn-order-answer"]
      .map((id) => document.getElementById(id));
    buttons.forEach((b) => { b.disabled = true; });
    try {
      let order = await H.api("POST", "/api/workorders", body);
      state.created = order;
      result.textContent = H.t("desk.order_created", {
        number: order.number, status: H.t("order.status." + order.status)});
      const path = "/api/workorders/" + encodeURIComponent(order.number) + "/actions";
      if (then === "dispatch") {
        order = await H.api("POST", path, {action: "dispatch", department});
        result.textContent = H.t("desk.order_dispatched", {
          number: order.number, department: departmentName(order.department),
          due: H.dateTime(order.due)});
      } else if (then === "answer") {
        order = await H.api("POST", path, {action: "answer_directly", answer});
        result.textContent = H.t("desk.order_answered", {number: order.number});
      }
      result.dataset.number = order.number;
      result.dataset.status = order.status;
      result.className = "result ok";
    } catch (e) {
      result.textContent = H.t("common.error", {msg: e.message});
      result.className = "result error";
      if (state.created === null) buttons.forEach((b) => { b.disabled = false; });
    }
  }

  // --- wiring ------------------------------------------------------------------------------

  function applyDesk(desk) {
    state.desk = desk;
    if (desk.seat) state.offset = 0;
    const st = seatState();
    if (desk.call) {
      state.call = desk.call;
    } else if (st === "ready" || st === "logged-out" || st === "paused") {
      state.call = null;  // the call and its wrap-up are over
    }
    renderState();
    renderPop();
  }

  function onMessage(message) {
    if (message.desk) applyDesk(message.desk);
  }

  function renderAll() {
    fillPauseReasons();
    fillCatalogue();
    renderState();
    renderPop();
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const session = H.requireUser(["agent"]);
    if (!session) return;
    state.agentId = session.user.agent_id;
    H.header("desk.title", session.user);
    H.applyLanguage();
    H.onLanguage.push(renderAll);
    const seatInput = document.getElementById("seat-input");
    seatInput.value = localStorage.getItem(SEAT_KEY) || "";
    document.getElementById("btn-login").addEventListener("click", () => {
      const seat = seatInput.value.trim();
      if (!seat) {
        H.toast(H.t("desk.seat_required"), "error");
        return;
      }
      localStorage.setItem(SEAT_KEY, seat);
      seatAction("/login", {seat_id: seat});
    });
    document.getElementById("btn-ready").addEventListener("click", () => seatAction("/ready"));
    document.getElementById("btn-pause").addEventListener("click", () =>
      seatAction("/pause", {reason: document.getElementById("pause-reason").value}));
    document.getElementById("btn-wrap-done").addEventListener("click", () => seatAction("/wrap-up-done"));
    document.getElementById("btn-logout").addEventListener("click", () => seatAction("/logout"));
    document.getElementById("btn-hold").addEventListener("click", toggleHold);
    document.getElementById("btn-transfer").addEventListener("click", transferCall);
    document.getElementById("btn-conference").addEventListener("click", conference);
    document.getElementById("btn-hangup").addEventListener("click", () => callControl("hangup"));
    document.getElementById("order-category").addEventListener("change", onCategory);
    document.getElementById("btn-order-create").addEventListener("click", () => submitOrder(null));
    document.getElementById("btn-order-dispatch").addEventListener("click", () => submitOrder("dispatch"));
    document.getElementById("btn-order-answer").addEventListener("click", () => submitOrder("answer"));
    renderAll();
    window.hotlineSocket = H.liveSocket("/api/ws/desk", onMessage, H.connection);
    setInterval(tick, 1000);
    try {
      state.catalogue = await H.api("GET", "/api/catalogue");
      fillCatalogue();
      if (state.call) {
        state.orderCall = null;
        renderOrderForm();
      }
    } catch (e) {
      H.toast(H.t("common.error", {msg: e.message}), "error");
    }
  });
})();
