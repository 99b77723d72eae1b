/* Nothing typed is ever lost (the server's half is aether/posting.py).
 *
 * - Drafts: what is typed in a text field of a posting form is kept in sessionStorage, per page and field
 *   ("aether:draft:<path>|<form action>|<field name>"), from the first keystroke until the server took it: an
 *   in-place post that succeeded, or a plain post after which the next page shows no error. When the page is
 *   shown again (a reload, after signing in again, after a refused post) the text comes back, with a note
 *   and a button to discard it. sessionStorage, not localStorage: it belongs to this tab and ends with it, so
 *   a shared computer does not keep someone's text for the next person; signing out clears it.
 * - Failed in-place requests say so by the form the person used (role="alert"), and nothing they typed is
 *   touched: an ended session (401, with a sign-in link that comes back to this page), a stale security
 *   token (403 "Aether-Refused: csrf": the page's token is renewed, send again), any other refusal (4xx), a
 *   server error (5xx), no connection.
 * - A refused in-place form (422, swapped in with its errors) takes the focus to its first wrong field and
 *   its errors are read out by the page's live region (#announcer, outside #main, so it survives swaps).
 */
(function () {
  "use strict";

  var PREFIX = "aether:draft:";
  var PENDING = "aether:pending-post";
  var store = null;
  try { store = window.sessionStorage; store.getItem(PREFIX); } catch (e) { store = null; }

  function announce(text) {
    var live = document.getElementById("announcer");
    if (!live || !text) { return; }
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 60);
  }
  window.AetherAnnounce = announce;

  /* --- drafts ---------------------------------------------------------------------------------------- */

  function draftable(el) {
    if (!el || !el.form || !el.name || el.closest("[data-no-draft]")) { return false; }
    if ((el.form.getAttribute("method") || "").toLowerCase() !== "post") { return false; }
    if (el.form.querySelector("input[type=password]")) { return false; }
    return el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type === "text");
  }

  function keyOf(el) {
    return PREFIX + window.location.pathname + "|" + (el.form.getAttribute("action") || "") + "|" + el.name;
  }

  function fieldsOf(root) {
    var all = root.querySelectorAll ? root.querySelectorAll("textarea, input[type=text]") : [];
    return Array.prototype.filter.call(all, draftable);
  }

  function forget(fields) {
    if (!store) { return; }
    fields.forEach(function (el) {
      store.removeItem(keyOf(el));
      var note = el.parentNode && el.parentNode.querySelector("[data-draft-note]");
      if (note) { note.remove(); }
    });
  }

  document.addEventListener("input", function (event) {
    var el = event.target;
    if (!store || !draftable(el)) { return; }
    try {
      if (el.value === el.defaultValue) { store.removeItem(keyOf(el)); } else { store.setItem(keyOf(el), el.value); }
    } catch (e) { /* storage full: the text is still in the field */ }
  });

  function restore(root) {
    if (!store) { return; }
    fieldsOf(root).forEach(function (el) {
      var saved = store.getItem(keyOf(el));
      if (saved === null || saved === el.value) { return; }
      el.value = saved;
      for (var open = el.closest("details"); open; open = open.parentElement && open.parentElement.closest("details")) {
        open.open = true;
      }
      if (el.parentNode.querySelector("[data-draft-note]")) { return; }
      var note = document.createElement("p");
      note.className = "draft-note small-text";
      note.setAttribute("data-draft-note", "");
      note.appendChild(document.createTextNode("Your unsent text is back. "));
      var discard = document.createElement("button");
      discard.type = "button";
      discard.className = "link";
      discard.textContent = "Discard it";
      discard.addEventListener("click", function () {
        el.value = el.defaultValue;
        forget([el]);
        el.focus();
      });
      note.appendChild(discard);
      el.insertAdjacentElement("afterend", note);
    });
  }

  // A plain (not in-place) post: its drafts are forgotten on the next page, unless that page shows the post
  // was not taken (the sign-in page, an error page, the same form with its errors).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!store || event.defaultPrevented) { return; }
    if ((form.getAttribute("action") || "").indexOf("/accounts/logout/") >= 0) {
      Object.keys(store).forEach(function (k) { if (k.indexOf(PREFIX) === 0) { store.removeItem(k); } });
      return;
    }
    if (form.hasAttribute("hx-post")) { return; }
    var keys = fieldsOf(form).map(keyOf);
    if (keys.length) { store.setItem(PENDING, JSON.stringify({ action: form.getAttribute("action") || "", keys: keys })); }
  });

  function settlePendingPost() {
    var pending = store && store.getItem(PENDING);
    if (!pending) { return; }
    store.removeItem(PENDING);
    try { pending = JSON.parse(pending); } catch (e) { return; }
    var refusedHere = document.querySelector(".error-page, [data-sign-in-form]");
    var sameForm = Array.prototype.find.call(document.querySelectorAll("form"), function (f) {
      return (f.getAttribute("action") || "") === pending.action;
    });
    if (refusedHere || (sameForm && sameForm.querySelector(".has-error, .form-errors, .field-error"))) { return; }
    pending.keys.forEach(function (k) { store.removeItem(k); });
  }

  settlePendingPost();
  restore(document);
  document.addEventListener("htmx:load", function (event) { restore(event.detail.elt); });

  /* --- in-place requests that fail -------------------------------------------------------------------- */

  function placeOf(elt) {
    return (elt && elt.closest && (elt.closest("form") || elt)) || document.getElementById("main");
  }

  function clearAlerts(elt) {
    var place = placeOf(elt);
    var next = place && place.nextElementSibling;
    if (next && next.hasAttribute("data-inplace-error")) { next.remove(); }
  }

  function typedIn(place) {
    return fieldsOf(place.tagName === "FORM" ? place : document.createElement("div")).some(function (el) {
      return el.value.trim() !== "";
    });
  }

  function say(elt, parts) {
    var place = placeOf(elt);
    clearAlerts(elt);
    var box = document.createElement("div");
    box.className = "inplace-error";
    box.setAttribute("role", "alert");
    box.setAttribute("data-inplace-error", "");
    parts.forEach(function (part) {
      if (typeof part === "string") {
        box.appendChild(document.createTextNode(part));
      } else {
        box.appendChild(part);
      }
    });
    if (typedIn(place)) { box.appendChild(document.createTextNode(" What you typed is kept.")); }
    place.insertAdjacentElement("afterend", box);
  }

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  // A stale token: the page's own is renewed from a fresh copy of the page (or, if that copy is the sign-in
  // page, the session ended too).
  function renewToken(elt) {
    window.fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.url && response.url.indexOf("/accounts/login/") >= 0) {
          signedOut(elt, "/accounts/login/?next=" + encodeURIComponent(window.location.pathname + window.location.search));
          return null;
        }
        return response.text();
      })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var headers = fresh.body && fresh.body.getAttribute("hx-headers");
        var token = headers && JSON.parse(headers)["X-CSRFToken"];
        if (!token) { throw new Error("no token"); }
        document.body.setAttribute("hx-headers", headers);
        document.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach(function (input) { input.value = token; });
        say(elt, ["You signed in or out in another tab, so this page was out of date and nothing was sent. It is up to date now: send it again."]);
      })
      .catch(function () {
        say(elt, ["This page is out of date and nothing was sent. ", link(window.location.href, "Reload the page"), " and send it again."]);
      });
  }

  function signedOut(elt, signIn) {
    say(elt, ["You were signed out, so this was not sent. ", link(signIn, "Sign in again"), ": you come back to this page."]);
  }

  var REFUSED = {
    403: "You cannot do this here: your role in this team does not allow it. Nothing was saved.",
    404: "This is no longer here (deleted, or moved to the trash), so nothing was saved. Reload the page to see it as it is now.",
    409: "Someone changed this at the same time, so nothing was saved. Reload the page and try again.",
    413: "This is too long to send. Nothing was saved.",
    429: "Too many requests: wait a moment and try again. Nothing was saved.",
  };

  document.addEventListener("htmx:beforeRequest", function (event) { clearAlerts(event.detail.elt); });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var elt = event.detail.elt;
    var status = xhr.status;
    if (status === 401 && xhr.getResponseHeader("Aether-Sign-In")) {
      signedOut(elt, xhr.getResponseHeader("Aether-Sign-In"));
    } else if (status === 403 && xhr.getResponseHeader("Aether-Refused") === "csrf") {
      renewToken(elt);
    } else if (REFUSED[status]) {
      say(elt, [REFUSED[status]]);
    } else if (status >= 500) {
      say(elt, ["Something went wrong on our side and nothing was saved. Try again in a moment."]);
    } else {
      say(elt, ["This was refused (error " + status + "), so nothing was saved."]);
    }
  });

  function offline(event) {
    say(event.detail.elt, ["No connection: nothing was sent. Try again when you are back online."]);
  }
  document.addEventListener("htmx:sendError", offline);
  document.addEventListener("htmx:timeout", offline);

  /* --- in-place requests that succeed or are refused by a field ---------------------------------------- */

  // Before the answer is swapped in: a post that was taken forgets its drafts (so that the blank form that
  // comes back stays blank); after a refusal by a field (422), the focus goes to that field (below).
  var refusedAction = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    var form = elt && elt.closest && elt.closest("form");
    if (form && xhr && xhr.status >= 200 && xhr.status < 300) { forget(fieldsOf(form)); }
    refusedAction = xhr && xhr.status === 422 && form ? form.getAttribute("action") : null;
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (refusedAction === null) { return; }
    var action = refusedAction;
    refusedAction = null;
    if (document.querySelector("dialog[open]")) { return; }  // aether.js focuses a dialog's wrong field
    var form = Array.prototype.find.call(document.querySelectorAll("form"), function (f) {
      return f.getAttribute("action") === action;
    });
    if (!form) { return; }
    var errors = Array.prototype.map.call(form.querySelectorAll(".field-error, .form-errors p"), function (e) {
      return e.textContent.trim();
    }).filter(Boolean);
    var wrong = form.querySelector(".has-error input:not([type=hidden]), .has-error textarea, .has-error select")
      || (errors.length && form.querySelector("input:not([type=hidden]), textarea, select"));
    if (wrong) { wrong.focus(); }
    announce("Not saved. " + errors.join(" "));
  });
})();
