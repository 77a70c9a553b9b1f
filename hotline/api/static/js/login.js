/* The login page: username and password → bearer token in sessionStorage → the page of
 * the user's role. A user already signed in goes straight on. */
"use strict";

(function () {
  const H = window.Hotline;

  function go(user) {
    const page = H.pageFor(user.role);
    if (!page) {
      const box = document.getElementById("login-error");
      box.textContent = H.t("login.unknown_role", {role: user.role});
      box.hidden = false;
      return;
    }
    window.location.replace(page);
  }

  document.addEventListener("DOMContentLoaded", () => {
    H.header("login.heading", null);
    H.applyLanguage();
    const existing = H.session();
    if (existing) {
      go(existing.user);
      return;
    }
    const form = document.getElementById("login-form");
    const error = document.getElementById("login-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      const button = document.getElementById("login-submit");
      button.disabled = true;
      try {
        const done = await H.api("POST", "/api/auth/login", {
          username: document.getElementById("username").value.trim(),
          password: document.getElementById("password").value,
        });
        H.saveSession(done.token, done.user);
        go(done.user);
      } catch (e) {
        if (e.status === 429) {
          const wait = e.response.headers.get("Retry-After") || "60";
          error.textContent = H.t("login.throttled", {s: wait});
        } else if (e.status === 401 || e.status === 422) {
          error.textContent = H.t("login.failed");
        } else {
          error.textContent = H.t("common.error", {msg: e.message});
        }
        error.hidden = false;
      } finally {
        button.disabled = false;
      }
    });
  });
})();
