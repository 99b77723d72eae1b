/* Aether's small behaviours. Everything works without this file: forms post, pages reload. With it:
 * - forms marked data-confirm ask first (capture phase, so an htmx form is stopped before htmx sends it);
 * - board cards can be dragged to another column (which submits the card's own status form);
 * - after an in-place update that lost the focus, the focus goes to the messages, so it is not lost at the
 *   top of the page and screen readers announce what happened.
 */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  var dragged = null;

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest("[data-card]");
    if (!card) { return; }
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-card"));
  });

  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    dragged = null;
    document.querySelectorAll(".column.drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
  });

  document.addEventListener("dragover", function (event) {
    var column = dragged && event.target.closest && event.target.closest("[data-column]");
    if (!column) { return; }
    event.preventDefault();
    column.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest("[data-column]");
    if (column && !column.contains(event.relatedTarget)) { column.classList.remove("drop-target"); }
  });

  document.addEventListener("drop", function (event) {
    var column = dragged && event.target.closest && event.target.closest("[data-column]");
    if (!column) { return; }
    event.preventDefault();
    var status = column.getAttribute("data-column");
    var form = dragged.querySelector("form[data-move]");
    if (!form || dragged.getAttribute("data-status") === status) { return; }
    form.querySelector("select[name=status]").value = status;
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  });

  document.addEventListener("htmx:afterSettle", function () {
    var active = document.activeElement;
    if (!active || active === document.body) {
      var target = document.getElementById("flashes") || document.querySelector("main h1");
      if (target) {
        if (!target.hasAttribute("tabindex")) { target.setAttribute("tabindex", "-1"); }
        target.focus({ preventScroll: true });
      }
    }
  });
})();
