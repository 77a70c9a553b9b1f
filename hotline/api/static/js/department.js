/* A department's orders by deadline status (green / amber / red), and the actions a
 * department takes: sign for, start, answer (reply), return with a reason, ask for an
 * extension. The list is live over /api/ws/department: a snapshot of the department's
 * orders, then each order that arrives, changes or leaves; the socket reconnects by
 * itself after a drop (and the snapshot makes the page whole again). */
"use strict";

(function () {
  const H = window.Hotline;
  const el = H.el;
  const AMBER_BELOW = 0.3;  // config/workorders.yaml amber_below_fraction_left
  const DONE = ["replied", "surveyed", "closed", "directly_answered"];

  const state = {orders: [], selected: null, order: null, catalogue: null};
  const now = () => Date.now() / 1000;

  function deadlineClass(created, deadline, status) {
    if (!deadline || DONE.includes(status)) return "deadline-none";
    const left = deadline - now();
    if (left < 0) return "deadline-red";
    const span = deadline - created;
    return span > 0 && left / span < AMBER_BELOW ? "deadline-amber" : "deadline-green";
  }

  function deadlineText(deadline) {
    if (!deadline) return H.t("common.na");
    const left = deadline - now();
    return H.dateTime(deadline) + " · " + (left < 0
      ? H.t("dept.over", {t: H.longDuration(-left)}) : H.t("dept.left", {t: H.longDuration(left)}));
  }

  function categoryName(code) {
    const c = state.catalogue && code ? state.catalogue.categories.find((x) => x.code === code) : null;
    return c ? c.name + "（" + code + "）" : (code || H.t("common.na"));
  }

  // --- the list ------------------------------------------------------------------------

  /* A snapshot replaces the list; a change puts each changed order in its place (newest
   * first, as the list comes) and drops those that left the department. */
  function onMessage(message) {
    if (message.type === "snapshot") {
      state.orders = message.orders;
    } else if (message.type === "changed") {
      const gone = new Set(message.gone.concat(message.orders.map((o) => o.number)));
      state.orders = message.orders.concat(state.orders.filter((o) => !gone.has(o.number)));
      const selected = state.selected;
      if (selected && message.orders.some((o) => o.number === selected) && !busy) {
        reloadSelected();
      }
      if (selected && message.gone.includes(selected)) {
        state.selected = null;
        state.order = null;
        renderDetail();
      }
    } else {
      return;
    }
    renderOrders();
  }

  let busy = false;  // an action of this page is under way (its answer renders itself)

  async function reloadSelected() {
    try {
      state.order = await H.api("GET", "/api/workorders/" + encodeURIComponent(state.selected));
    } catch (e) {
      return;
    }
    renderDetail();
  }

  function rank(o) {
    const cls = deadlineClass(H.isoToEpoch(o.created_at), H.isoToEpoch(o.deadline), o.status);
    return {"deadline-red": 0, "deadline-amber": 1, "deadline-green": 2, "deadline-none": 3}[cls];
  }

  function renderOrders() {
    const body = document.getElementById("orders");
    if (!state.orders.length) {
      H.replace(body, el("tr", {}, el("td", {colspan: "4", class: "muted", text: H.t("dept.none")})));
      return;
    }
    const sorted = state.orders.slice().sort((a, b) => rank(a) - rank(b) ||
      (H.isoToEpoch(a.deadline) || Infinity) - (H.isoToEpoch(b.deadline) || Infinity));
    H.replace(body, sorted.map((o) => {
      const deadline = H.isoToEpoch(o.deadline);
      const cls = deadlineClass(H.isoToEpoch(o.created_at), deadline, o.status);
      const row = el("tr", {class: "order-row " + cls + (o.number === state.selected ? " selected" : ""),
                            data: {number: o.number, deadline: cls.replace("deadline-", "")},
                            tabindex: "0"},
        el("td", {text: o.number}),
        el("td", {text: H.t("order.status." + o.status)}),
        el("td", {text: categoryName(o.category)}),
        el("td", {class: "deadline", text: deadlineText(deadline)}));
      row.addEventListener("click", () => select(o.number));
      row.addEventListener("keydown", (e) => { if (e.key === "Enter") select(o.number); });
      return row;
    }));
  }

  // --- one order -------------------------------------------------------------------------

  async function select(number) {
    state.selected = number;
    try {
      state.order = await H.api("GET", "/api/workorders/" + encodeURIComponent(number));
    } catch (e) {
      H.toast(H.t("common.error", {msg: e.message}), "error");
      return;
    }
    renderOrders();
    renderDetail();
  }

  function renderDetail() {
    const o = state.order;
    document.getElementById("detail-empty").hidden = o !== null;
    document.getElementById("detail").hidden = o === null;
    if (!o) return;
    const due = o.extension_until || o.due;
    const cls = deadlineClass(o.created_at, due, o.status);
    const panel = document.getElementById("detail-panel");
    panel.className = "panel wide detail " + cls;
    panel.dataset.status = o.status;
    document.getElementById("detail-number").textContent = o.number;
    document.getElementById("detail-status").textContent = H.t("order.status." + o.status);
    document.getElementById("detail-category").textContent = categoryName(o.category);
    document.getElementById("detail-caller").textContent =
      (o.caller || H.t("desk.withheld")) + (o.caller_name ? " · " + o.caller_name : "");
    document.getElementById("detail-content").textContent = o.content || H.t("common.none");
    document.getElementById("detail-address").textContent = o.address || H.t("common.none");
    document.getElementById("detail-transcript").textContent = o.transcript || H.t("common.none");
    document.getElementById("detail-sign-by").textContent = o.sign_by ? H.dateTime(o.sign_by) : H.t("common.na");
    document.getElementById("detail-due").textContent = deadlineText(o.due);
    document.getElementById("detail-extension").textContent =
      o.extension_until ? H.dateTime(o.extension_until) : H.t("common.na");
    ["sign_for", "start", "reply", "return", "request_extension"].forEach((action) => {
      document.getElementById("act-" + action).disabled = !o.allowed_actions.includes(action);
    });
    // Answering a signed order starts it first (one click for the department).
    if (o.allowed_actions.includes("start")) document.getElementById("act-reply").disabled = false;
    H.replace(document.getElementById("detail-history"), o.history.map((h) => el("li", {},
      el("span", {class: "muted", text: H.dateTime(h.at)}), " ",
      el("strong", {text: H.has("action." + h.action) ? H.t("action." + h.action) : h.action}), " · ",
      h.actor, h.after ? " → " + H.t("order.status." + h.after) : "",
      detailNote(h.detail))));
  }

  function detailNote(detail) {
    const parts = ["department", "reason", "answer", "note"]
      .filter((k) => detail[k]).map((k) => String(detail[k]));
    if (detail.until) parts.push(H.dateTime(detail.until));
    return parts.length ? el("div", {class: "small", text: parts.join(" · ")}) : null;
  }

  async function act(body) {
    const o = state.order;
    busy = true;
    try {
      if (body.action === "reply" && !o.allowed_actions.includes("reply") &&
          o.allowed_actions.includes("start")) {
        await H.api("POST", "/api/workorders/" + encodeURIComponent(o.number) + "/actions",
                    {action: "start"});
      }
      state.order = await H.api("POST", "/api/workorders/" + encodeURIComponent(o.number) + "/actions", body);
      H.toast(H.t("dept.done", {action: H.t("action." + body.action)}), "ok");
    } catch (e) {
      H.toast(H.t("common.error", {msg: e.message}), "error");
      return false;
    } finally {
      busy = false;
    }
    renderDetail();  // the list follows over the socket
    return true;
  }

  // --- wiring --------------------------------------------------------------------------------

  function renderAll() {
    renderOrders();
    renderDetail();
    const s = H.session();
    const code = s.user.department;
    const d = state.catalogue ? state.catalogue.departments.find((x) => x.code === code) : null;
    document.getElementById("dept-name").textContent =
      H.t("dept.department", {name: d ? d.name + "（" + code + "）" : code});
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const session = H.requireUser(["department"]);
    if (!session) return;
    H.header("dept.title", session.user);
    H.applyLanguage();
    H.onLanguage.push(renderAll);
    document.getElementById("act-sign_for").addEventListener("click", () => act({action: "sign_for"}));
    document.getElementById("act-start").addEventListener("click", () => act({action: "start"}));
    document.getElementById("form-reply").addEventListener("submit", async (e) => {
      e.preventDefault();
      const answer = document.getElementById("reply-answer").value.trim();
      if (!answer) { H.toast(H.t("dept.answer_required"), "error"); return; }
      if (await act({action: "reply", answer})) document.getElementById("reply-answer").value = "";
    });
    document.getElementById("form-return").addEventListener("submit", async (e) => {
      e.preventDefault();
      const reason = document.getElementById("return-reason").value.trim();
      if (!reason) { H.toast(H.t("dept.reason_required"), "error"); return; }
      if (await act({action: "return", reason})) document.getElementById("return-reason").value = "";
    });
    document.getElementById("form-extension").addEventListener("submit", async (e) => {
      e.preventDefault();
      const until = H.localInputToIso(document.getElementById("extension-until").value);
      const reason = document.getElementById("extension-reason").value.trim();
      if (!until) { H.toast(H.t("dept.until_required"), "error"); return; }
      if (!reason) { H.toast(H.t("dept.reason_required"), "error"); return; }
      if (await act({action: "request_extension", until, reason})) {
        document.getElementById("extension-reason").value = "";
      }
    });
    state.order = null;
    renderAll();
    try {
      state.catalogue = await H.api("GET", "/api/catalogue");
    } catch (e) { /* names fall back to codes */ }
    renderAll();
    window.hotlineSocket = H.liveSocket("/api/ws/department", onMessage, H.connection);
    // Deadlines move with the clock, not with messages: repaint the colours each minute.
    setInterval(renderOrders, 60000);
  });
})();
