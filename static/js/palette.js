/* The command palette: the top bar's search box (⌘K / Ctrl-K, or /) shows tasks, projects, people and commands
 * as you type, from the first character (tasks/palette.py finds them; the server renders the list).
 *
 * An ARIA combobox: the box keeps the focus, ↓/↑ move through the options (aria-activedescendant), Enter
 * opens the chosen one (or, with none chosen, the full search page: the form's own submit, which is also what
 * happens without JavaScript), Escape closes the list, a second Escape leaves the box. The number of results
 * is read out. Each keystroke's request replaces the previous one (the older answer is dropped).
 */
(function () {
  "use strict";

  var form = document.querySelector("form[data-palette]");
  var input = form && form.querySelector("input[name=q]");
  if (!input) { return; }

  var url = form.getAttribute("data-palette");
  var popup = document.createElement("div");
  popup.id = "palette";
  popup.className = "palette";
  popup.hidden = true;
  popup.tabIndex = 0;  // a scrolling region a keyboard can reach (the arrows also move through it from the box)
  form.appendChild(popup);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", "palette");
  input.setAttribute("autocomplete", "off");

  var active = -1;
  var asked = 0;
  var timer = null;

  function options() { return Array.prototype.slice.call(popup.querySelectorAll("[role=option]")); }

  function choose(index) {
    var all = options();
    all.forEach(function (o) { o.setAttribute("aria-selected", "false"); o.classList.remove("is-active"); });
    active = all.length ? (index + all.length) % all.length : -1;
    if (active < 0) { input.removeAttribute("aria-activedescendant"); return; }
    var option = all[active];
    option.setAttribute("aria-selected", "true");
    option.classList.add("is-active");
    input.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({ block: "nearest" });
  }

  function show(open) {
    popup.hidden = !open;
    input.setAttribute("aria-expanded", open ? "true" : "false");
    if (!open) { active = -1; input.removeAttribute("aria-activedescendant"); }
  }

  function here() {
    var project = document.querySelector("[data-project-id]");
    return project ? project.getAttribute("data-project-id") : "";
  }

  function ask() {
    var mine = ++asked;
    // Control characters (a pasted NUL) are never part of what a person searches for, and a NUL in an address
    // is refused site-wide (aether/hygiene.py): send them as spaces.
    var q = input.value.replace(/[\u0000-\u001f\u007f]/g, " ");
    var address = url + "?q=" + encodeURIComponent(q) + "&project=" + encodeURIComponent(here());
    window.fetch(address, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected && response.url.indexOf("/accounts/login/") >= 0) { throw new Error("signed out"); }
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        if (mine !== asked) { return; }  // a newer keystroke asked since
        popup.innerHTML = html;  // rendered and escaped by the server (templates/tasks/_palette.html)
        show(document.activeElement === input);
        choose(options().length ? 0 : -1);
        var count = popup.querySelector("[data-palette-count]");
        if (window.AetherAnnounce && count && q.trim()) {
          var n = parseInt(count.getAttribute("data-palette-count"), 10);
          window.AetherAnnounce(n ? n + (n === 1 ? " result" : " results") : "Nothing found");
        }
      })
      .catch(function (error) {
        if (mine !== asked) { return; }
        popup.textContent = "";
        var p = document.createElement("p");
        p.className = "palette-empty";
        p.setAttribute("role", "alert");
        p.textContent = error.message === "signed out"
          ? "You were signed out: reload the page to sign in again."
          : "The results could not be fetched. Press Enter to search on a page instead.";
        popup.appendChild(p);
        show(true);
      });
  }

  function soon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 60);
  }

  function go(option) {
    var href = option && option.getAttribute("data-href");
    if (href) { window.location.assign(href); }
  }

  input.addEventListener("input", soon);
  input.addEventListener("focus", function () { if (popup.hidden) { soon(); } });

  input.addEventListener("keydown", function (event) {
    var open = !popup.hidden;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) { soon(); return; }
      choose(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" && open && active >= 0) {
      event.preventDefault();
      go(options()[active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      if (open) { show(false); } else { input.blur(); }
    } else if (event.key === "Tab") {
      show(false);
    }
  });

  popup.addEventListener("mousedown", function (event) { event.preventDefault(); });  // keep the focus in the box
  popup.addEventListener("click", function (event) {
    go(event.target.closest && event.target.closest("[role=option]"));
  });
  popup.addEventListener("mousemove", function (event) {
    var option = event.target.closest && event.target.closest("[role=option]");
    var index = options().indexOf(option);
    if (index >= 0 && index !== active) { choose(index); }
  });
  input.addEventListener("blur", function () { window.setTimeout(function () { show(false); }, 100); });

  // ⌘K / Ctrl-K: always on (not a single-key shortcut), even while typing in another field.
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && (event.key === "k" || event.key === "K")) {
      event.preventDefault();
      open();
    }
  });

  function open(text) {
    if (typeof text === "string") { input.value = text; }
    input.focus();
    if (typeof text !== "string" && input.select) { input.select(); }
    soon();
  }

  window.AetherPalette = { open: open };
})();
