/* Writing a description or a comment ([data-writing] around its textarea):
 * - Write / Preview tabs: Preview shows the text as the page will, rendered and sanitised by the server
 *   (POST to data-preview: tasks/views/task.py markdown_preview, the page's own Markdown renderer);
 * - @ opens a picker of the team's active members (the page's #mention-people list), filtered as you type by
 *   name or handle; ↓/↑ choose, Enter or Tab puts "@handle " in, Escape closes it.
 * Without JavaScript the textarea is a plain textarea and @handle still mentions.
 */
(function () {
  "use strict";

  var MENTION = /(^|[^\w.+@-])@([\w.%+-]*)$/;
  var people = null;

  function team() {
    if (people === null) {
      var data = document.getElementById("mention-people");
      try { people = data ? JSON.parse(data.textContent) : []; } catch (e) { people = []; }
    }
    return people;
  }

  function token() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  var serial = 0;

  function setUp(box) {
    var area = box.querySelector("textarea");
    if (!area || box.hasAttribute("data-writing-ready")) { return; }
    box.setAttribute("data-writing-ready", "");
    var n = ++serial;

    /* Write / Preview */
    var tabs = document.createElement("div");
    tabs.className = "write-tabs";
    tabs.setAttribute("role", "tablist");
    tabs.setAttribute("aria-label", "Write or preview");
    var write = tab("Write", true);
    var preview = tab("Preview", false);
    tabs.appendChild(write);
    tabs.appendChild(preview);
    var panel = document.createElement("div");
    panel.className = "prose preview-panel";
    panel.id = "preview-" + n;
    panel.setAttribute("role", "tabpanel");
    panel.setAttribute("aria-labelledby", "preview-tab-" + n);
    panel.setAttribute("tabindex", "0");
    panel.hidden = true;
    write.id = "write-tab-" + n;
    preview.id = "preview-tab-" + n;
    write.setAttribute("aria-controls", area.id);
    preview.setAttribute("aria-controls", panel.id);
    area.insertAdjacentElement("beforebegin", tabs);
    area.insertAdjacentElement("afterend", panel);

    function tab(label, selected) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "write-tab";
      b.setAttribute("role", "tab");
      b.setAttribute("aria-selected", selected ? "true" : "false");
      b.tabIndex = selected ? 0 : -1;
      b.textContent = label;
      return b;
    }

    function select(which) {
      var showing = which === preview;
      write.setAttribute("aria-selected", showing ? "false" : "true");
      preview.setAttribute("aria-selected", showing ? "true" : "false");
      write.tabIndex = showing ? -1 : 0;
      preview.tabIndex = showing ? 0 : -1;
      area.hidden = showing;
      panel.hidden = !showing;
      if (!showing) { return; }
      panel.textContent = "Loading the preview…";
      var body = new URLSearchParams();
      body.set("text", area.value);
      window.fetch(box.getAttribute("data-preview"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token(), "Content-Type": "application/x-www-form-urlencoded" },
        body: body,
      }).then(function (response) {
        if (!response.ok || response.redirected) { throw new Error(String(response.status)); }
        return response.text();
      }).then(function (html) {
        panel.innerHTML = html;  // rendered and sanitised by the server, as the page shows it
      }).catch(function () {
        panel.textContent = "The preview could not be made (signed out, or no connection). Your text is unchanged.";
      });
    }

    tabs.addEventListener("click", function (event) {
      var b = event.target.closest("[role=tab]");
      if (b) { select(b); b.focus(); }
    });
    tabs.addEventListener("keydown", function (event) {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") { return; }
      event.preventDefault();
      var next = document.activeElement === write ? preview : write;
      select(next);
      next.focus();
    });

    /* the @ picker */
    var list = document.createElement("div");
    list.className = "mention-picker";
    list.id = "mentions-" + n;
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Team members to mention");
    list.hidden = true;
    panel.insertAdjacentElement("afterend", list);
    area.setAttribute("aria-autocomplete", "list");
    area.setAttribute("aria-controls", list.id);
    var active = -1;
    var matches = [];

    function close() {
      list.hidden = true;
      area.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function choose(i) {
      var options = list.querySelectorAll("[role=option]");
      options.forEach(function (o, j) { o.setAttribute("aria-selected", j === i ? "true" : "false"); });
      active = i;
      if (options[i]) { area.setAttribute("aria-activedescendant", options[i].id); }
    }

    function typedHandle() {
      var before = area.value.slice(0, area.selectionStart);
      var m = MENTION.exec(before);
      return m && area.selectionStart === area.selectionEnd ? m[2] : null;
    }

    function refresh() {
      var typed = typedHandle();
      if (typed === null) { close(); return; }
      var q = typed.toLowerCase();
      matches = team().filter(function (p) {
        var words = p.name.toLowerCase().split(/\s+/);
        return p.handle.indexOf(q) === 0 || p.email.toLowerCase().indexOf(q) === 0
          || words.some(function (w) { return w.indexOf(q) === 0; });
      }).slice(0, 8);
      list.textContent = "";
      if (!matches.length) { close(); return; }
      matches.forEach(function (p, i) {
        var o = document.createElement("div");
        o.id = list.id + "-" + i;
        o.className = "mention-option";
        o.setAttribute("role", "option");
        o.setAttribute("aria-selected", "false");
        var name = document.createElement("span");
        name.className = "mention-name";
        name.textContent = p.name;
        var handle = document.createElement("span");
        handle.className = "mention-handle";
        handle.textContent = " @" + p.handle;
        o.appendChild(name);
        o.appendChild(handle);
        o.addEventListener("mousedown", function (event) { event.preventDefault(); insert(i); });
        list.appendChild(o);
      });
      var wasHidden = list.hidden;
      list.hidden = false;
      choose(0);
      if (wasHidden && window.AetherAnnounce) {
        window.AetherAnnounce(matches.length + (matches.length === 1 ? " person" : " people") + " to mention: up and down arrows to choose, Enter to pick.");
      }
    }

    function insert(i) {
      var p = matches[i];
      if (!p) { return; }
      var caret = area.selectionStart;
      var before = area.value.slice(0, caret).replace(/@[\w.%+-]*$/, "@" + p.handle + " ");
      area.value = before + area.value.slice(caret);
      area.selectionStart = area.selectionEnd = before.length;
      area.dispatchEvent(new Event("input", { bubbles: true }));  // the draft keeps it (inplace.js)
      close();
      area.focus();
    }

    area.addEventListener("input", refresh);
    area.addEventListener("click", refresh);
    area.addEventListener("blur", function () { window.setTimeout(close, 150); });
    area.addEventListener("keydown", function (event) {
      if (list.hidden) { return; }
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        choose((active + (event.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length);
      } else if (event.key === "Enter" || event.key === "Tab") {
        event.preventDefault();
        insert(active);
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        close();
      }
    });
  }

  function setUpAll(root) {
    if (root.querySelectorAll) { root.querySelectorAll("[data-writing]").forEach(setUp); }
  }

  setUpAll(document);
  document.addEventListener("htmx:load", function (event) { people = null; setUpAll(event.detail.elt); });
})();
