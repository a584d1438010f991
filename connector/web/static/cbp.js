// The dashboard's one script: live updates from the connector's event stream, the rules of a
// form shown as the user types, and uploads refused before they are sent. Everything works
// without it (forms post, pages reload); it only saves the reload.
"use strict";

(function () {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
  const backHere = () => location.pathname + location.search;
  const toLogin = (url) => {
    location.assign(url || "/ui/login?expired=1&next=" + encodeURIComponent(backHere()));
  };
  const announce = (text) => {
    const el = document.getElementById("announcer");
    if (el) el.textContent = text;
  };

  // ---- live parts -------------------------------------------------------------------------
  // A region says what it shows: data-live="POD:IT002E00112233 FlexDevice:* op:<id>".
  // When an event names one of these, the page is fetched again and the region replaced.

  const wanted = new Set();
  let timer = null;

  function matches(region, tokens) {
    const mine = (region.dataset.live || "").split(/\s+/).filter(Boolean);
    return mine.some((m) => m === "*" || tokens.includes(m));
  }

  function schedule(tokens, everything) {
    document.querySelectorAll("[data-live]").forEach((region) => {
      if (region.id && (everything || matches(region, tokens))) wanted.add(region.id);
    });
    if (wanted.size && !timer) timer = setTimeout(refresh, 250);
  }

  async function refresh() {
    timer = null;
    const ids = [...wanted];
    wanted.clear();
    let reply;
    try {
      reply = await fetch(backHere(), { headers: { "X-CBP-Live": "1" }, credentials: "same-origin" });
    } catch (e) {
      return;
    }
    if (reply.status === 401) return toLogin(reply.headers.get("X-CBP-Login"));
    if (!reply.ok) return;
    const fresh = new DOMParser().parseFromString(await reply.text(), "text/html");
    for (const id of ids) {
      const now = document.getElementById(id);
      const next = fresh.getElementById(id);
      if (!now || !next) continue;
      if (now.contains(document.activeElement) && document.activeElement !== document.body) {
        wanted.add(id); // never pull a field from under the user's hands: try again later
        continue;
      }
      keepTyped(now, next);
      now.replaceWith(next);
    }
    if (wanted.size && !timer) timer = setTimeout(refresh, 2000);
    document.dispatchEvent(new CustomEvent("cbp:refreshed", { detail: ids }));
  }

  // what the user ticked or typed in a region stays when the region is replaced (the pending
  // trades a confirmation is being prepared for, say): matched by name (and value for a box)
  function keepTyped(now, next) {
    for (const input of now.querySelectorAll("input[name]")) {
      if (input.type === "checkbox" || input.type === "radio") {
        if (!input.checked) continue;
        for (const twin of next.querySelectorAll(`input[name="${CSS.escape(input.name)}"]`)) {
          if (twin.value === input.value) twin.checked = true;
        }
      } else if (input.type !== "hidden" && input.value !== input.defaultValue) {
        const twin = next.querySelector(`input[name="${CSS.escape(input.name)}"]`);
        if (twin) twin.value = input.value;
      }
    }
  }

  function liveState(state, text) {
    const el = document.getElementById("live-state");
    if (!el) return;
    el.dataset.state = state;
    el.textContent = text;
  }

  function listen(url) {
    const stream = new EventSource(url, { withCredentials: true });
    stream.onopen = async () => {
      liveState("on", "Live updates: on");
      // what changed between this page's rendering and now was sent to no one: catch up
      const reply = await fetch("/ui/live/position", { credentials: "same-origin" }).catch(() => null);
      if (!reply || !reply.ok) return;
      const now = await reply.text();
      if (now !== document.body.dataset.synced) {
        document.body.dataset.synced = now;
        schedule(["*", "*:*"], true);
      }
    };
    stream.addEventListener("resource", (e) => {
      const d = JSON.parse(e.data);
      schedule([`${d.entity}:${d.id}`, `${d.entity}:*`, `*:${d.id}`]);
      if (d.to && d.from !== d.to) {
        const who = d.actor ? ` by ${d.actor.mspId}` : "";
        announce(`${d.entity} ${d.id} is now ${d.to}${who} (block ${d.block}).`);
      }
    });
    stream.addEventListener("operation", (e) => {
      const d = JSON.parse(e.data);
      schedule([`op:${d.id}`, "op:*"]);
    });
    stream.addEventListener("resync", () => schedule(["*"]));
    stream.onerror = async () => {
      liveState("off", "Live updates: reconnecting");
      if (stream.readyState !== EventSource.CLOSED) return;
      const me = await fetch("/auth/me", { credentials: "same-origin" }).catch(() => null);
      if (me && me.status === 401) return toLogin();
      setTimeout(() => listen(url), 3000);
    };
  }

  // ---- forms: the API's rules beside the fields --------------------------------------------

  function showRules(form, reply, touched, all) {
    for (const p of form.querySelectorAll("[data-rule-for]")) {
      const name = p.dataset.ruleFor;
      const input = form.elements.namedItem(name);
      const rule = reply.fields[name] || "";
      const show = all || touched.has(name);
      p.textContent = show ? rule : "";
      if (input && input.setAttribute) {
        if (show && rule) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
        input.closest(".field")?.classList.toggle("invalid", Boolean(show && rule));
      }
    }
    // what a value comes to as typed (a trade's cost, say), when the connector tells it
    for (const p of form.querySelectorAll("[data-note-for]")) {
      const note = (reply.notes || {})[p.dataset.noteFor];
      if (note !== undefined) p.textContent = note;
    }
  }

  function checkAsTyped(form) {
    const touched = new Set();
    let pending = null;
    let asked = 0; // only the answer to the latest question is shown
    const check = async () => {
      const mine = ++asked;
      const body = new FormData(form);
      const reply = await fetch(form.dataset.check, {
        method: "POST",
        body,
        headers: { "X-CSRF-Token": csrf(), "X-CBP-Live": "1" },
        credentials: "same-origin",
      }).catch(() => null);
      if (!reply) return;
      if (reply.status === 401) return toLogin(reply.headers.get("X-CBP-Login"));
      if (!reply.ok) return;
      const rules = await reply.json();
      if (mine === asked) showRules(form, rules, touched, false);
    };
    const later = (e) => {
      if (e.target.name) touched.add(e.target.name);
      clearTimeout(pending);
      pending = setTimeout(check, e.type === "input" ? 500 : 0);
    };
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    form.addEventListener("focusout", (e) => {
      if (e.target.name && e.target.value) later(e);
    });
  }

  // ---- uploads: refused before they are sent -------------------------------------------------

  async function fileProblem(input, file) {
    const max = Number(input.dataset.maxBytes || 0);
    if (max && file.size > max) {
      const mb = (file.size / 1024 / 1024).toFixed(1);
      return input.dataset.kind === "table"
        ? `the file is ${mb} MB; at most ${max / 1024 / 1024} MB`
        : input.dataset.kind === "series"
          ? `the series is ${mb} MB; at most ${max / 1024 / 1024} MB`
          : `the document is ${mb} MB; attachments are at most 5 MB`;
    }
    if (file.size === 0) return "the document is empty";
    if (input.dataset.kind === "table") {
      return /\.(csv|xlsx)$/i.test(file.name) ? "" : "the file must be CSV or XLSX";
    }
    if (input.dataset.kind === "series") {
      // a measurement series is JSON (an ESMP TimeSeries object): judged by its first byte
      const first = new TextDecoder("utf-8").decode(new Uint8Array(await file.slice(0, 64).arrayBuffer()));
      return first.replace(/^\uFEFF/, "").trimStart().startsWith("{")
        ? ""
        : "the file is not a JSON measurement series (an ESMP TimeSeries, as the connector exports it)";
    }
    // the connector judges a document by its first bytes, not its name: so does this check
    const head = new Uint8Array(await file.slice(0, 1024).arrayBuffer());
    const text = new TextDecoder("latin1").decode(head).replace(/^\uFEFF|^\xEF\xBB\xBF/, "").trimStart();
    if (text.startsWith("%PDF-") || text.startsWith("<?xml") || /^<[A-Za-z]/.test(text)) return "";
    return "the document is neither PDF nor XML (judged by its content, not its name)";
  }

  function guardUpload(form) {
    const input = form.querySelector('input[type="file"]');
    if (!input) return;
    const rule = form.querySelector(`[data-rule-for="${input.name}"]`);
    let problem = "";
    const judge = async () => {
      const file = input.files && input.files[0];
      problem = file ? await fileProblem(input, file) : "";
      if (rule) rule.textContent = problem;
      if (problem) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      input.closest(".field")?.classList.toggle("invalid", Boolean(problem));
    };
    input.addEventListener("change", judge);
    form.addEventListener("submit", async (e) => {
      if (!input.files || !input.files[0]) return;
      e.preventDefault();
      await judge();
      if (problem) {
        input.focus();
        return;
      }
      form.submit();
    });
  }

  // forms inside a live region are new after each refresh: bind whatever is not bound yet
  function bind() {
    document.querySelectorAll("form:not([data-bound])").forEach((form) => {
      form.dataset.bound = "1";
      if (form.dataset.check) checkAsTyped(form);
      if (form.enctype === "multipart/form-data") guardUpload(form);
    });
  }

  document.addEventListener("cbp:refreshed", bind);
  document.addEventListener("DOMContentLoaded", () => {
    const stream = document.body.dataset.liveStream;
    if (stream && "EventSource" in window) listen(stream);
    bind();
  });
})();
