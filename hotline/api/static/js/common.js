/* Shared by every page: language, session (token in sessionStorage), the API client,
 * a reconnecting websocket, formatting and tiny DOM helpers. No framework, no build. */
"use strict";

(function () {
  const TOKEN_KEY = "hotline.token";
  const USER_KEY = "hotline.user";
  const LANG_KEY = "hotline.lang";
  const PAGES = {agent: "desk.html", supervisor: "wallboard.html", admin: "wallboard.html",
                 department: "department.html"};

  // --- language ----------------------------------------------------------------------

  function lang() {
    const saved = localStorage.getItem(LANG_KEY);
    return saved === "en" || saved === "zh" ? saved : "zh";
  }

  function t(key, params) {
    const table = window.HOTLINE_I18N[lang()] || {};
    let text = key in table ? table[key] : (window.HOTLINE_I18N.zh[key] ?? key);
    if (params) {
      for (const [name, value] of Object.entries(params)) {
        text = text.split("{" + name + "}").join(String(value));
      }
    }
    return text;
  }

  function has(key) {
    const value = (window.HOTLINE_I18N[lang()] || {})[key];
    return typeof value === "string" && value !== "";
  }

  const onLanguage = [];

  function applyLanguage(root) {
    const scope = root || document;
    document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
    scope.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    scope.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
    scope.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
      el.placeholder = t(el.dataset.i18nPlaceholder);
    });
  }

  function setLanguage(value) {
    localStorage.setItem(LANG_KEY, value);
    applyLanguage();
    onLanguage.forEach((fn) => fn());
  }

  // --- session -----------------------------------------------------------------------

  function session() {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const user = sessionStorage.getItem(USER_KEY);
    return token && user ? {token, user: JSON.parse(user)} : null;
  }

  function saveSession(token, user) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(USER_KEY, JSON.stringify(user));
  }

  function clearSession() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  }

  function pageFor(role) { return PAGES[role] || null; }

  /* The page's user; null (and off to the login page) when signed out or another role. */
  function requireUser(roles) {
    const s = session();
    if (!s || !roles.includes(s.user.role)) {
      window.location.replace("index.html");
      return null;
    }
    return s;
  }

  async function logout() {
    const s = session();
    if (s) {
      try { await api("POST", "/api/auth/logout"); } catch (e) { /* gone already */ }
    }
    clearSession();
    window.location.replace("index.html");
  }

  // --- the API -----------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, detail, response) {
      super(detail);
      this.status = status;
      this.response = response;
    }
  }

  function detailText(body) {
    if (!body) return "";
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail.map((d) => (d.loc ? d.loc.slice(1).join(".") + ": " : "") + d.msg).join("; ");
    }
    return JSON.stringify(body);
  }

  async function api(method, path, body) {
    const headers = {"Accept": "application/json"};
    const s = session();
    if (s) headers["Authorization"] = "Bearer " + s.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store", credentials: "omit",
    });
    if (response.status === 401 && path !== "/api/auth/login") {
      clearSession();
      window.location.replace("index.html");
      throw new ApiError(401, "authentication required", response);
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = {detail: text}; }
    if (!response.ok) throw new ApiError(response.status, detailText(data), response);
    return data;
  }

  // --- a websocket that comes back ---------------------------------------------------

  /* Connects, sends {"token"} first, calls onMessage(json). On a drop it waits 1, 2, 4 …
   * 30 s (with jitter) and tries again; onStatus("live" | "connecting" |
   * "reconnecting", seconds). Close code 4401/4403: the session is gone → login page. */
  function liveSocket(path, onMessage, onStatus) {
    let attempt = 0;
    let socket = null;
    let timer = null;
    let stopped = false;

    function url() {
      const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      return scheme + "//" + window.location.host + path;
    }

    function connect() {
      if (stopped) return;
      onStatus(attempt === 0 ? "connecting" : "reconnecting", 0);
      socket = new WebSocket(url());
      socket.onopen = () => {
        const s = session();
        socket.send(JSON.stringify({token: s ? s.token : ""}));
      };
      socket.onmessage = (event) => {
        if (attempt !== 0 || socket.hotlineLive !== true) {
          attempt = 0;
          socket.hotlineLive = true;
          onStatus("live", 0);
        }
        let data;
        try { data = JSON.parse(event.data); } catch (e) { return; }
        onMessage(data);
      };
      socket.onclose = (event) => {
        socket = null;
        if (stopped) return;
        if (event.code === 4401 || event.code === 4403) {
          clearSession();
          window.location.replace("index.html");
          return;
        }
        attempt += 1;
        const base = Math.min(30, Math.pow(2, attempt - 1));
        const delay = base * (0.8 + Math.random() * 0.4);
        let left = Math.ceil(delay);
        onStatus("reconnecting", left);
        const tick = setInterval(() => {
          left -= 1;
          if (left > 0) onStatus("reconnecting", left);
        }, 1000);
        timer = setTimeout(() => { clearInterval(tick); connect(); }, delay * 1000);
      };
    }

    connect();
    return {
      stop() {
        stopped = true;
        if (timer) clearTimeout(timer);
        if (socket) socket.close(1000);
      },
      /* For tests and the "reconnect now" case: drop the socket as a network would. */
      drop() { if (socket) socket.close(4000, "dropped"); },
    };
  }

  // --- formatting ----------------------------------------------------------------------

  function pad(n) { return String(n).padStart(2, "0"); }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return t("common.na");
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s % 60);
  }

  function longDuration(seconds) {
    const s = Math.max(0, Math.round(Math.abs(seconds)));
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    const zh = lang() === "zh";
    if (d) return zh ? d + "天" + h + "小时" : d + "d " + h + "h";
    if (h) return zh ? h + "小时" + m + "分" : h + "h " + m + "m";
    return zh ? m + "分钟" : m + " min";
  }

  function clockTime(epoch) {
    if (epoch === null || epoch === undefined) return t("common.na");
    const d = new Date(epoch * 1000);
    return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  function dateTime(epoch) {
    if (epoch === null || epoch === undefined) return t("common.na");
    const d = new Date(epoch * 1000);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function percent(value) {
    if (value === null || value === undefined) return t("common.na");
    return (value * 100).toFixed(1) + "%";
  }

  function kpiValue(kpi) {
    if (!kpi || kpi.value === null || kpi.value === undefined) return t("common.na");
    if (kpi.unit === "ratio") return percent(kpi.value);
    if (kpi.unit === "s") return duration(kpi.value);
    return String(Math.round(kpi.value));
  }

  /* The KPI's definition in the page's language; the API's own text otherwise. */
  function kpiDefinition(name, apiDefinition) {
    return has("kpidef." + name) ? t("kpidef." + name) : (apiDefinition || "");
  }

  // --- DOM -------------------------------------------------------------------------------

  /* el("div", {class: "x", text: "…", title: "…", data: {k: v}}, child, …): text only
   * through textContent, so nothing from the API is ever parsed as HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "class") node.className = value;
      else if (name === "data") Object.entries(value).forEach(([k, v]) => { node.dataset[k] = v; });
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (value === true) node.setAttribute(name, "");
      else node.setAttribute(name, value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function replace(node, ...children) {
    node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  }

  /* The header every page shares: title, user, connection state, language, sign-out. */
  function header(pageTitleKey, user) {
    const bar = document.getElementById("topbar");
    if (!bar) return;
    const conn = el("span", {id: "conn", class: "conn conn-offline", "data-state": "offline",
                             role: "status", "aria-live": "polite"});
    conn.textContent = t("conn.offline");
    const langButton = el("button", {id: "lang", type: "button", class: "link",
                                     "data-i18n": "lang.switch"});
    langButton.addEventListener("click", () => setLanguage(lang() === "zh" ? "en" : "zh"));
    const out = el("button", {id: "signout", type: "button", class: "link", "data-i18n": "nav.logout"});
    out.addEventListener("click", logout);
    replace(bar,
      el("span", {class: "brand", "data-i18n": "app.title"}),
      el("span", {class: "page", "data-i18n": pageTitleKey}),
      el("span", {class: "spacer"}),
      user ? el("span", {class: "who", id: "who"}) : null,
      conn, langButton, user ? out : null);
    const paint = () => {
      const who = document.getElementById("who");
      if (who && user) who.textContent = user.username + " · " + t("role." + user.role);
    };
    onLanguage.push(paint);
    paint();
  }

  let lastStatus = ["offline", 0];
  function connection(state, seconds) {
    lastStatus = [state, seconds];
    const conn = document.getElementById("conn");
    if (!conn) return;
    conn.dataset.state = state;
    conn.className = "conn conn-" + state;
    conn.textContent = t("conn." + state, {s: seconds});
    document.body.classList.toggle("is-reconnecting", state === "reconnecting");
  }
  onLanguage.push(() => connection(lastStatus[0], lastStatus[1]));

  function toast(message, kind) {
    const box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.className = "toast toast-" + (kind || "info");
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  /* A <input type="datetime-local"> value → ISO 8601 with the browser's offset. */
  function localInputToIso(value) {
    if (!value) return null;
    const d = new Date(value);
    if (isNaN(d.getTime())) return null;
    const offset = -d.getTimezoneOffset();
    const sign = offset >= 0 ? "+" : "-";
    const abs = Math.abs(offset);
    return value.length === 16 ? value + ":00" + sign + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60)
      : value + sign + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60);
  }

  function isoToEpoch(value) {
    if (value === null || value === undefined) return null;
    const text = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : value + "Z";
    return Date.parse(text) / 1000;
  }

  window.Hotline = {
    t, has, lang, setLanguage, applyLanguage, onLanguage, session, saveSession, clearSession,
    pageFor, requireUser, logout, api, ApiError, liveSocket, duration, longDuration,
    clockTime, dateTime, percent, kpiValue, kpiDefinition, el, replace, header, connection,
    toast, localInputToIso, isoToEpoch,
  };
})();
