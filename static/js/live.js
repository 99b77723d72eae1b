/* Live pages (#23; aether/live/__init__.py has the server's side). A page that shows a live region says where its
 * stream is (<div data-live=... data-live-etag=...>, rendered by aether/live/pages.py); this file opens it with
 * EventSource and, when a change of what the page shows is announced, refetches the page itself through its
 * ordinary view and swaps its regions ([data-live-region], matched by name) in place.
 *
 * - Events carry no content (a kind and ids): what is shown comes from the permission-checked page.
 * - Nothing the viewer is doing is lost: a region holding the focused field, a form being typed in, an open
 *   menu or dialog, or an htmx request under way is left alone and swapped once that is over; the window's and
 *   the regions' scroll positions are kept.
 * - The refetch is conditional (If-None-Match with the page's ETag, header X-Aether-Live): a 304 changes
 *   nothing. After a dropped connection EventSource reconnects with Last-Event-ID, and the server says
 *   `resync` when events went by meanwhile. Event ids already seen are ignored, so a change is shown once.
 * - `revoked` (the viewer left the team) closes the stream for good.
 * Without this file (or EventSource) the pages are as they were: a reload shows the changes.
 */
(function () {
  "use strict";

  if (!window.EventSource || !window.fetch || !window.DOMParser) { return; }

  var source = null;
  var page = null;      // the stream's address without `since`: the same page keeps its connection
  var etag = "";
  var lastId = 0;
  var timer = null;
  var inflight = false;
  var again = false;
  var pending = false;  // a region was left alone (busy): swap it when the viewer is done

  function withoutSince(url) {
    return url.replace(/([?&])since=\d*&?/, "$1").replace(/[?&]$/, "");
  }

  function connect() {
    var marker = document.querySelector("[data-live]");
    var url = marker ? marker.getAttribute("data-live") : null;
    if (marker && marker.getAttribute("data-live-etag")) { etag = marker.getAttribute("data-live-etag"); }
    if (url && page === withoutSince(url)) { return; }
    if (source) { source.close(); source = null; }
    page = url ? withoutSince(url) : null;
    lastId = 0;
    if (!url) { return; }
    source = new EventSource(url);
    source.addEventListener("change", function (event) {
      var id = parseInt(event.lastEventId, 10) || 0;
      if (id && id <= lastId) { return; }  // seen already
      if (id) { lastId = id; }
      schedule();
    });
    source.addEventListener("resync", function (event) {
      var id = parseInt(event.lastEventId, 10) || 0;
      if (id > lastId) { lastId = id; }
      schedule();
    });
    source.addEventListener("revoked", function () {
      if (source) { source.close(); source = null; }
    });
  }

  function schedule() {
    if (!timer) { timer = window.setTimeout(refresh, 80); }  // one refetch for a burst of commits
  }

  function refresh() {
    timer = null;
    if (inflight) { again = true; return; }
    inflight = true;
    var headers = { "X-Aether-Live": "1" };
    if (etag && !pending) { headers["If-None-Match"] = etag; }
    fetch(window.location.href, { headers: headers, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status !== 200) { return null; }  // 304: nothing moved; 404/403: leave the page as it is
        var tag = response.headers.get("ETag");
        return response.text().then(function (html) { return { html: html, tag: tag }; });
      })
      .then(function (got) {
        if (!got) { return; }
        var complete = apply(new DOMParser().parseFromString(got.html, "text/html"));
        pending = !complete;
        if (complete && got.tag) { etag = got.tag; }
      })
      .catch(function () { /* offline for a moment: the next event or reconnection refetches */ })
      .then(function () {
        inflight = false;
        if (again) { again = false; schedule(); }
      });
  }

  function comparable(element) {
    var copy = element.cloneNode(true);  // the CSRF tokens are masked anew with every render
    copy.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach(function (i) { i.removeAttribute("value"); });
    return copy.outerHTML;
  }

  function busy(region) {
    var active = document.activeElement;
    if (active && active !== document.body && region.contains(active) &&
        active.matches("input, textarea, select, [contenteditable], summary")) { return true; }
    return !!region.querySelector("form[data-live-dirty], details[open], dialog[open], .htmx-request");
  }

  function scrolled(region) {
    var found = [];
    if (region.scrollTop || region.scrollLeft) { found.push([-1, region.scrollTop, region.scrollLeft]); }
    region.querySelectorAll("*").forEach(function (element, index) {
      if (element.scrollTop || element.scrollLeft) { found.push([index, element.scrollTop, element.scrollLeft]); }
    });
    return found;
  }

  function restore(region, positions) {
    var all = positions.length ? region.querySelectorAll("*") : [];
    positions.forEach(function (p) {
      var element = p[0] < 0 ? region : all[p[0]];
      if (element) { element.scrollTop = p[1]; element.scrollLeft = p[2]; }
    });
  }

  function apply(doc) {
    var complete = true;
    var x = window.scrollX;
    var y = window.scrollY;
    document.querySelectorAll("[data-live-region]").forEach(function (region) {
      var name = region.getAttribute("data-live-region");
      var fresh = doc.querySelector('[data-live-region="' + name + '"]');
      if (!fresh || comparable(fresh) === comparable(region)) { return; }
      if (busy(region)) { complete = false; return; }
      var positions = scrolled(region);
      var node = document.importNode(fresh, true);
      region.replaceWith(node);
      restore(node, positions);
      if (window.htmx) { window.htmx.process(node); }
    });
    window.scrollTo(x, y);
    return complete;
  }

  /* what the viewer is doing: a form typed in stays as it is until sent */
  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form");
    if (form && form.method && form.method.toLowerCase() === "post") { form.setAttribute("data-live-dirty", ""); }
  });
  document.addEventListener("submit", function (event) {
    if (event.target.removeAttribute) { event.target.removeAttribute("data-live-dirty"); }
  });

  function retryIfPending() {
    if (pending) { window.setTimeout(schedule, 300); }
  }
  document.addEventListener("focusout", retryIfPending);
  document.addEventListener("toggle", retryIfPending, true);
  document.addEventListener("close", retryIfPending, true);
  document.addEventListener("htmx:afterRequest", retryIfPending);
  // In-place navigation swaps #main, and the stream's marker with it: follow it to the new page.
  document.addEventListener("htmx:afterSettle", connect);
  window.addEventListener("pageshow", connect);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", connect);
  } else {
    connect();
  }
})();
