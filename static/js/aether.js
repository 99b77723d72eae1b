/* Aether's small behaviours. Everything works without this file: forms post, pages reload, the phone menu
 * and the filters stay unfolded. With it:
 * - forms marked data-confirm ask first (capture phase, so an htmx form is stopped before htmx sends it);
 * - board cards can be dragged to the columns their "Move" menu offers (a drop clicks that menu item: a
 *   status button, or "Completed…", which loads the stage-hours form into a dialog);
 * - a calendar task's "Move" link opens the month's one move dialog for that task (without JS it opens the
 *   task's move page), and a task dragged to another day posts the same form with that day;
 * - after an in-place update the messages are read out (#announcer);
 * - on phones the main navigation and the list filters fold behind a button;
 * - a template's stage rows are added, moved and removed in the page (the same buttons post the form and
 *   get the changed rows back from the server without JS);
 * - keyboard shortcuts (never while typing in a field, and all of them can be turned off in the ? list):
 *   / search, c the title of a new task, j/k move through rows and cards, Enter opens (the focused link),
 *   ? lists them;
 * - the focus goes back to the control or card it was on after an in-place update or the completion dialog;
 *   Escape closes a card's Move menu and the phone's menu.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  /* --- the board: drag and drop, the card menus, the stage-hours dialog ------------------------------- */

  var dragged = null;

  function allowedMoves(card) {
    return (card.getAttribute("data-moves") || "").split(" ").filter(Boolean);
  }

  function dropColumn(event) {
    var column = dragged && event.target.closest && event.target.closest("[data-column]");
    if (!column || allowedMoves(dragged).indexOf(column.getAttribute("data-column")) < 0) { return null; }
    return column;
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest("[data-card][data-moves]");
    if (!card) { return; }
    dragged = card;
    card.classList.add("dragging");
    allowedMoves(card).forEach(function (status) {
      var column = document.querySelector('[data-column="' + status + '"]');
      if (column) { column.classList.add("can-drop"); }
    });
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-card"));
  });

  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    dragged = null;
    document.querySelectorAll(".column.drop-target, .column.can-drop").forEach(function (c) {
      c.classList.remove("drop-target", "can-drop");
    });
  });

  document.addEventListener("dragover", function (event) {
    var column = dropColumn(event);
    if (!column) { return; }  // not a move this card offers: the browser shows "no drop"
    event.preventDefault();
    column.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest("[data-column]");
    if (column && !column.contains(event.relatedTarget)) { column.classList.remove("drop-target"); }
  });

  document.addEventListener("drop", function (event) {
    var column = dropColumn(event);
    if (!column) { return; }
    event.preventDefault();
    var item = dragged.querySelector('[data-move-to="' + column.getAttribute("data-column") + '"]');
    if (item) { item.click(); }  // a status button submits its form; "Completed…" opens the hours form
  });

  /* --- the calendar: drag a task to another day ---------------------------------------------------- */

  var calendarTask = null;

  function dropDay(event) {
    var cell = calendarTask && event.target.closest && event.target.closest("td[data-day]");
    return cell && !cell.contains(calendarTask) ? cell : null;
  }

  document.addEventListener("dragstart", function (event) {
    var task = event.target.closest && event.target.closest("[data-cal-move]");
    if (!task) { return; }
    calendarTask = task;
    task.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", task.getAttribute("data-task"));
  });

  document.addEventListener("dragend", function () {
    if (calendarTask) { calendarTask.classList.remove("dragging"); }
    calendarTask = null;
    document.querySelectorAll("td.drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
  });

  document.addEventListener("dragover", function (event) {
    var cell = dropDay(event);
    if (!cell) { return; }
    event.preventDefault();
    cell.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var cell = event.target.closest && event.target.closest("td[data-day]");
    if (cell && !cell.contains(event.relatedTarget)) { cell.classList.remove("drop-target"); }
  });

  document.addEventListener("drop", function (event) {
    var cell = dropDay(event);
    if (!cell) { return; }
    event.preventDefault();
    calendarMove(calendarTask, cell.getAttribute("data-day"));
  });

  // The month's one move form, set for `task` (its "Move" link's path is the form's action): with a `day`
  // it is posted at once (a drop), without one the dialog opens on the task's current day. False when the
  // page has no such form (a viewer's month), for the link to go to the move page.
  function calendarMove(task, day) {
    var dialog = document.getElementById("cal-move-dialog");
    var link = task.querySelector("a.cal-move");
    if (!dialog || !link) { return false; }
    var form = dialog.querySelector("form");
    var input = form.querySelector('input[name="due_date"]');
    form.setAttribute("action", link.pathname);
    dialog.querySelector("[data-cal-move-title]").textContent = task.querySelector(".cal-task-title").textContent;
    input.value = day || task.closest("td[data-day]").getAttribute("data-day");
    if (day) {
      form.requestSubmit();  // htmx sends it, or the browser posts it
    } else {
      dialog.showModal();
      input.focus();
    }
    return true;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a.cal-move");
    var task = link && link.closest("[data-cal-move]");
    if (task && !event.ctrlKey && !event.metaKey && !event.shiftKey && calendarMove(task)) { event.preventDefault(); }
  });

  // htmx read the form's hx-post when the page loaded: send it where calendarMove pointed it.
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.id === "cal-move-form") { event.detail.path = form.getAttribute("action"); }
  });

  // One card menu open at a time; a click elsewhere or Escape closes it.
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.classList || !menu.classList.contains("card-menu") || !menu.open) { return; }
    document.querySelectorAll("details.card-menu[open]").forEach(function (other) {
      if (other !== menu) { other.open = false; }
    });
  }, true);

  document.addEventListener("click", function (event) {
    var inside = event.target.closest && event.target.closest("details.card-menu");
    document.querySelectorAll("details.card-menu[open]").forEach(function (menu) {
      if (menu !== inside) { menu.open = false; }
    });
    var close = event.target.closest && event.target.closest("[data-dialog-close]");
    var dialog = close && close.closest("dialog");
    if (dialog) {
      event.preventDefault();
      dialog.close();
    }
  });

  // The card a completion dialog was opened from: the focus goes back to it when the dialog closes.
  var dialogCard = null;

  function focusCard(cardId) {
    var card = cardId && document.querySelector('[data-card="' + cardId + '"]');
    var control = card && (card.querySelector("details.card-menu > summary") || card.querySelector("a[href]"));
    if (control) { control.focus(); }
    return !!control;
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "complete-dialog-body") { return; }
    var dialog = document.getElementById("complete-dialog");
    var menu = document.querySelector("details.card-menu[open]");
    var card = event.detail.requestConfig && event.detail.requestConfig.elt.closest("[data-card]");
    dialogCard = card ? card.getAttribute("data-card") : null;
    if (menu) { menu.open = false; }
    // htmx readies swapped-in forms only when they settle (20 ms later, longer on a busy machine): ready this
    // one now, before it takes the focus, or an Enter typed at once would post it as a whole page.
    if (window.htmx) { window.htmx.process(target); }
    if (dialog && !dialog.open) { dialog.showModal(); }
    var first = target.querySelector("input:not([type=hidden])");
    if (first) { first.focus(); }
  });

  document.addEventListener("close", function (event) {
    if (event.target.id !== "complete-dialog" || !dialogCard) { return; }
    focusCard(dialogCard);  // closed without completing (Escape, Cancel): back to the card's Move button
    dialogCard = null;
  }, true);

  // After an in-place update the page under the focus is new: the focus goes back to the same control (by
  // its id), else to the card it was on, else to the form it sent; what happened is read out (#announcer).
  var focusWas = null;

  document.addEventListener("htmx:beforeRequest", function (event) {
    var active = document.activeElement;
    var elt = event.detail.elt;
    var on = active && active !== document.body ? active : elt;
    var card = on && on.closest && on.closest("[data-card]");
    var form = elt && elt.closest && elt.closest("form");
    var holder = on && on.parentElement && on.parentElement.closest("[id]:not(form):not(main)");
    focusWas = {
      id: on && on.id,
      card: card ? card.getAttribute("data-card") : dialogCard,
      holder: holder ? holder.id : null,  // e.g. a stage's row: its next control when this one is gone
      action: form ? form.getAttribute("action") : null,
    };
  });

  function refocus(was) {
    var el = was.id && document.getElementById(was.id);
    if (el && el.offsetParent !== null) { el.focus(); return true; }
    if (was.card && focusCard(was.card)) { return true; }
    var holder = was.holder && document.getElementById(was.holder);
    var inside = holder && holder.querySelector("button, input:not([type=hidden]), a[href], select, textarea");
    if (inside && inside.offsetParent !== null) { inside.focus(); return true; }
    var form = was.action && Array.prototype.find.call(document.querySelectorAll("form"), function (f) {
      return f.getAttribute("action") === was.action;
    });
    var control = form && form.querySelector("button[type=submit], input:not([type=hidden]), textarea");
    if (control && control.offsetParent !== null) { control.focus(); return true; }
    return false;
  }

  document.addEventListener("htmx:afterSettle", function () {
    var dialog = document.querySelector("dialog[open]");
    if (dialog) {  // a refused form in a dialog: to its first wrong field
      var wrong = dialog.querySelector(".has-error input, input");
      if (wrong) { wrong.focus(); }
      return;
    }
    var was = focusWas;
    focusWas = null;
    dialogCard = null;
    var flashes = document.getElementById("flashes");
    if (flashes && window.AetherAnnounce) { window.AetherAnnounce(flashes.textContent.trim()); }
    var active = document.activeElement;
    if (active && active !== document.body) { return; }
    if (was && refocus(was)) { return; }
    var target = flashes || document.querySelector("main h1");
    if (target) {
      if (!target.hasAttribute("tabindex")) { target.setAttribute("tabindex", "-1"); }
      target.focus({ preventScroll: true });
    }
  });

  // Escape closes an open card menu (the focus back on its Move button) and the phone's menu.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || document.querySelector("dialog[open]")) { return; }
    var menu = document.querySelector("details.card-menu[open]");
    if (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
      event.preventDefault();
      return;
    }
    var toggle = document.querySelector("[data-fold][aria-expanded=true]");
    var panel = toggle && document.getElementById(toggle.getAttribute("aria-controls"));
    if (toggle && panel && (panel.contains(document.activeElement) || toggle === document.activeElement)) {
      setFolded(toggle, panel, false);
      toggle.focus();
      event.preventDefault();
    }
  });

  /* --- forms that show only what applies: [data-show-when="name=value,value"] (the repeat editor) ------ */

  function chosen(form, name) {
    var control = form.querySelector('[name="' + name + '"]:checked') || form.querySelector('select[name="' + name + '"]');
    return control ? control.value : "";
  }

  function showWhen(form) {
    form.querySelectorAll("[data-show-when]").forEach(function (part) {
      var rule = part.getAttribute("data-show-when").split("=");
      part.hidden = rule[1].split(",").indexOf(chosen(form, rule[0])) < 0;
    });
    form.querySelectorAll("[data-past-start]").forEach(function (note) {
      var start = form.querySelector('input[name="starts_on"]');
      note.hidden = !(start && start.value && start.value < note.getAttribute("data-past-start"));
    });
  }

  function initShowWhen(root) {
    root.querySelectorAll("form").forEach(function (form) {
      if (form.querySelector("[data-show-when], [data-past-start]")) { showWhen(form); }
    });
  }

  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.querySelector("[data-show-when], [data-past-start]")) { showWhen(form); }
  });
  initShowWhen(document);
  document.addEventListener("htmx:load", function (event) { initShowWhen(event.detail.elt); });

  /* --- folding on phones: the main navigation and the list filters ------------------------------------ */

  function setFolded(button, panel, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    panel.classList.toggle("is-open", open);
  }

  function initFolds(root) {
    root.querySelectorAll("[data-fold]").forEach(function (button) {
      if (button.hasAttribute("data-fold-ready")) { return; }
      button.setAttribute("data-fold-ready", "");
      button.hidden = false;
      var panel = document.getElementById(button.getAttribute("aria-controls"));
      if (!panel) { return; }
      setFolded(button, panel, button.hasAttribute("data-fold-open"));
      button.addEventListener("click", function () {
        setFolded(button, panel, button.getAttribute("aria-expanded") !== "true");
      });
    });
  }

  initFolds(document);
  document.addEventListener("htmx:load", function (event) { initFolds(event.detail.elt); });

  /* --- a template's stage rows ---------------------------------------------------------------------- */

  function renumberRows(fieldset) {
    var prefix = fieldset.getAttribute("data-prefix");
    var pattern = new RegExp("^(id_)?" + prefix + "-(\\d+|__prefix__)-");
    var rows = fieldset.querySelectorAll("[data-rows] > [data-row]");
    rows.forEach(function (row, i) {
      row.querySelectorAll("[name], [id], label[for]").forEach(function (el) {
        ["name", "id", "for"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value && pattern.test(value)) {
            el.setAttribute(attr, value.replace(pattern, function (m, id) { return (id || "") + prefix + "-" + i + "-"; }));
          }
        });
      });
      row.querySelector("[data-row-number]").textContent = String(i + 1);
      row.querySelectorAll("[data-row-action]").forEach(function (button) {
        var action = button.getAttribute("data-row-action");
        button.value = String(i);
        button.setAttribute("aria-label", action === "remove" ? "Remove stage " + (i + 1) : "Move stage " + (i + 1) + " " + action);
        button.disabled = (action === "up" && i === 0) || (action === "down" && i === rows.length - 1);
      });
    });
    var total = fieldset.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]');
    if (total) { total.value = String(rows.length); }
    return rows;
  }

  function announce(fieldset, text) {
    var status = fieldset.querySelector("[data-rows-status]");
    if (status) { status.textContent = text; }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-row-add], [data-row-action]");
    var fieldset = button && button.closest("[data-stage-rows]");
    if (!fieldset) { return; }
    event.preventDefault();
    var list = fieldset.querySelector("[data-rows]");
    if (button.hasAttribute("data-row-add")) {
      var template = fieldset.querySelector("#stage-row-template");
      list.appendChild(template.content.firstElementChild.cloneNode(true));
      var rows = renumberRows(fieldset);
      var input = rows[rows.length - 1].querySelector("input");
      if (input) { input.focus(); }
      announce(fieldset, "Stage " + rows.length + " added.");
      return;
    }
    var row = button.closest("[data-row]");
    var action = button.getAttribute("data-row-action");
    if (action === "remove") {
      var next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      renumberRows(fieldset);
      var focus = next ? next.querySelector("input") : fieldset.querySelector("[data-row-add]");
      if (focus) { focus.focus(); }
      announce(fieldset, "Stage removed.");
      return;
    }
    if (action === "up" && row.previousElementSibling) {
      list.insertBefore(row, row.previousElementSibling);
    } else if (action === "down" && row.nextElementSibling) {
      list.insertBefore(row.nextElementSibling, row);
    }
    renumberRows(fieldset);
    if (button.disabled) {  // moved to an end: keep the focus in the row
      button = row.querySelector('[data-row-action="' + (action === "up" ? "down" : "up") + '"]');
    }
    button.focus();
    announce(fieldset, "Stage moved to place " + (Array.prototype.indexOf.call(list.children, row) + 1) + ".");
  });

  document.querySelectorAll("[data-stage-rows]").forEach(renumberRows);

  /* --- keyboard shortcuts ----------------------------------------------------------------------------- */

  var SHORTCUTS = [
    ["Ctrl K / ⌘K", "Search and commands (always on)"],
    ["/", "Search and commands"],
    ["c", "New task: its title field (in a project; elsewhere, choose the project)"],
    ["j", "Next task in the list or board"],
    ["k", "Previous task"],
    ["Enter", "Open the chosen task"],
    ["?", "Show these shortcuts"],
    ["Esc", "Close this list"],
  ];

  var SINGLE_KEYS = "aether:single-key-shortcuts";
  var singleKeysOff = false;
  try { singleKeysOff = window.localStorage.getItem(SINGLE_KEYS) === "off"; } catch (e) { singleKeysOff = false; }

  function singleKeysOn() { return !singleKeysOff; }

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-shortcuts]")) { shortcutsDialog().showModal(); }
  });
  document.querySelectorAll("[data-shortcuts]").forEach(function (button) { button.hidden = false; });

  function typing(target) {
    if (!target || !target.closest) { return false; }
    return !!target.closest("input, textarea, select, [contenteditable]:not([contenteditable=false])");
  }

  function shortcutsDialog() {
    var dialog = document.getElementById("shortcuts");
    if (dialog) { return dialog; }
    dialog = document.createElement("dialog");
    dialog.id = "shortcuts";
    dialog.className = "dialog shortcuts";
    dialog.setAttribute("aria-labelledby", "shortcuts-title");
    var title = document.createElement("h2");
    title.id = "shortcuts-title";
    title.textContent = "Keyboard shortcuts";
    var list = document.createElement("dl");
    list.className = "shortcut-list";
    SHORTCUTS.forEach(function (pair) {
      var dt = document.createElement("dt");
      var kbd = document.createElement("kbd");
      kbd.textContent = pair[0];
      dt.appendChild(kbd);
      var dd = document.createElement("dd");
      dd.textContent = pair[1];
      list.appendChild(dt);
      list.appendChild(dd);
    });
    var note = document.createElement("p");
    note.className = "muted small-text";
    note.textContent = "Shortcuts do nothing while you type in a field.";
    // WCAG 2.1.4: single-key shortcuts can be turned off (speech input users type letters by voice).
    var toggle = document.createElement("label");
    toggle.className = "shortcut-toggle";
    var box = document.createElement("input");
    box.type = "checkbox";
    box.id = "shortcuts-on";
    box.checked = singleKeysOn();
    box.addEventListener("change", function () {
      try { window.localStorage.setItem(SINGLE_KEYS, box.checked ? "on" : "off"); } catch (e) { /* kept for this page */ }
      singleKeysOff = !box.checked;
    });
    toggle.appendChild(box);
    toggle.appendChild(document.createTextNode(" Single-key shortcuts (/ c j k ?) on"));
    var close = document.createElement("button");
    close.type = "button";
    close.className = "secondary";
    close.setAttribute("data-dialog-close", "");
    close.textContent = "Close";
    dialog.appendChild(title);
    dialog.appendChild(list);
    dialog.appendChild(note);
    dialog.appendChild(toggle);
    dialog.appendChild(close);
    document.body.appendChild(dialog);
    return dialog;
  }

  function navItems() {
    return Array.prototype.slice.call(document.querySelectorAll("main [data-nav-item]")).filter(function (el) {
      return el.offsetParent !== null;  // visible ones only
    });
  }

  function moveThrough(step) {
    var items = navItems();
    if (!items.length) { return; }
    var current = document.querySelector("main [data-nav-item].is-current");
    var index = items.indexOf(current);
    if (index < 0) {  // start from the item holding the focus, if any
      index = items.findIndex(function (el) { return el.contains(document.activeElement); });
    }
    var next = index < 0 ? (step > 0 ? 0 : items.length - 1) : Math.min(items.length - 1, Math.max(0, index + step));
    if (current) { current.classList.remove("is-current"); }
    var item = items[next];
    item.classList.add("is-current");
    var link = item.querySelector("[data-nav-link]") || item.querySelector("a[href]");
    if (link) { link.focus(); }
    item.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (singleKeysOff || typing(event.target) || document.querySelector("dialog[open]")) { return; }
    var key = event.key;
    if (key === "/") {
      var search = document.getElementById("search");
      if (!search) { return; }
      event.preventDefault();
      search.focus();
      if (search.select) { search.select(); }
    } else if (key === "c") {
      // The title of a new task, in the page: the project's quick add; elsewhere the palette's "New task in …".
      var title = document.getElementById("quick-title");
      event.preventDefault();
      if (title) {
        title.focus();
      } else if (window.AetherPalette) {
        window.AetherPalette.open("New task");
      }
    } else if (key === "j" || key === "k") {
      event.preventDefault();
      moveThrough(key === "j" ? 1 : -1);
    } else if (key === "?") {
      event.preventDefault();
      shortcutsDialog().showModal();
    }
  });
})();
