// The dashboard's charts, drawn with the vendored Chart.js from the figures the page carries as JSON
// (json_script: no inline script, so the strict CSP holds). Every chart's numbers are also in a table, in the
// same order. Counts get whole-number axes from 0; times switch from hours to days past two days; colours
// come from the theme's CSS variables, so ticks and grid read in dark mode too.
(function () {
  "use strict";
  var node = document.getElementById("dashboard-data");
  if (!node) return;

  // The numbers' tables are open on a wide screen and folded on a phone (a page a thumb can scroll).
  if (window.matchMedia && window.matchMedia("(min-width: 48rem)").matches) {
    document.querySelectorAll("details[data-wide-open]").forEach(function (d) { d.open = true; });
  }
  if (!window.Chart) return;

  var f = JSON.parse(node.textContent);
  var rankedNode = document.getElementById("dashboard-stages");
  var ranked = rankedNode ? JSON.parse(rankedNode.textContent) : [];
  var css = getComputedStyle(document.documentElement);
  var v = function (name, fallback) { return (css.getPropertyValue(name) || "").trim() || fallback; };
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  // Series colours with at least 3:1 against the card in either theme (WCAG 1.4.11, graphics).
  var blue = dark ? "#6ea8fe" : "#2563eb", green = dark ? "#4ade80" : "#047857";
  var red = dark ? "#fb7f7f" : "#b91c1c", amber = dark ? "#fbbf24" : "#b45309", grey = dark ? "#a3acb9" : "#5f6774";
  window.Chart.defaults.color = v("--text-3", "#4b5563");  // ticks and legends: AA contrast on the card
  window.Chart.defaults.borderColor = v("--border", "#e5e7eb");
  window.Chart.defaults.font.size = 12;

  var cap = function (s) { return s.charAt(0).toUpperCase() + s.slice(1); };
  var countAxis = { beginAtZero: true, ticks: { precision: 0 } };
  var drawn = 0;

  function draw(id, config, legend) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    // A hover says the value with its unit: "Completed: 4 tasks", "Created to completed: 3.2 days".
    var tooltip = { callbacks: { label: function (ctx) {
      var unit = ctx.dataset.unit || "";
      return ctx.dataset.label + ": " + ctx.formattedValue + (unit ? " " + unit : "");
    } } };
    config.options = Object.assign(
      { responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: !!legend }, tooltip: tooltip } },
      config.options || {});
    config.data.datasets.forEach(function (d) { if (d.unit === undefined) d.unit = "tasks"; });
    new window.Chart(canvas, config);
    canvas.setAttribute("data-drawn", "true");
    drawn += 1;
  }
  function bar(labels, datasets, options) {
    return { type: "bar", data: { labels: labels, datasets: datasets }, options: options || {} };
  }
  function titled(axis, text) { return Object.assign({}, axis, { title: { display: true, text: text } }); }
  // Hours, or days when the largest is two days or more: one unit per chart.
  function timeUnit(values) {
    var max = Math.max.apply(null, values.filter(function (x) { return x !== null; }).concat([0]));
    return max >= 48 ? { name: "days", div: 24 } : { name: "hours", div: 1 };
  }
  function inUnit(x, unit) { return x === null ? null : Math.round((x / unit.div) * 10) / 10; }

  var prio = f.completion.by_priority;
  var prioLabels = prio.map(function (p) { return cap(p.priority); });

  draw("chart-trend", { type: "line", data: {
    labels: f.completion_trend.map(function (w) { return w.week; }),
    datasets: [{ label: "Completed", data: f.completion_trend.map(function (w) { return w.count; }),
      borderColor: green, backgroundColor: green, pointRadius: f.completion_trend.length > 26 ? 0 : 3 }]
  }, options: { scales: { y: titled(countAxis, "tasks") } } });
  draw("chart-throughput", bar(f.throughput.map(function (w) { return w.week; }), [
    { label: "Created", data: f.throughput.map(function (w) { return w.created; }), backgroundColor: blue },
    { label: "Completed", data: f.throughput.map(function (w) { return w.completed; }), backgroundColor: green }
  ], { scales: { y: titled(countAxis, "tasks") } }), true);
  draw("chart-workload", bar(f.workload.map(function (w) { return w.name; }), [
    { label: "Open", data: f.workload.map(function (w) { return w.open; }), backgroundColor: blue },
    { label: "Overdue", data: f.workload.map(function (w) { return w.overdue; }), backgroundColor: red },
    { label: "Completed", data: f.workload.map(function (w) { return w.completed; }), backgroundColor: green }
  ], { scales: { y: titled(countAxis, "tasks") } }), true);
  draw("chart-priority", bar(Object.keys(f.counts.by_priority).map(cap),
    [{ label: "Tasks", data: Object.values(f.counts.by_priority), backgroundColor: [grey, blue, amber, red] }],
    { scales: { y: titled(countAxis, "tasks") } }));

  var lead = timeUnit(prio.map(function (p) { return p.mean_hours; }));
  draw("chart-time", bar(prioLabels, [
    { label: "Created to completed", unit: lead.name, data: prio.map(function (p) { return inUnit(p.mean_hours, lead); }), backgroundColor: blue },
    { label: "Started to completed", unit: lead.name, data: prio.map(function (p) { return inUnit(p.mean_cycle_hours, lead); }), backgroundColor: green }
  ], { scales: { y: titled({ beginAtZero: true }, "average, " + lead.name) } }), true);
  draw("chart-delay", bar(prioLabels, [{ label: "Late by (below 0: early)", unit: "days",
    data: prio.map(function (p) { return p.mean_delay_days === null ? null : Math.round(p.mean_delay_days * 10) / 10; }),
    backgroundColor: amber }], { scales: { y: titled({}, "days late (below 0: early)") } }));
  draw("chart-daily", bar(f.daily_completions.map(function (d) { return d.day; }),
    [{ label: "Completed", data: f.daily_completions.map(function (d) { return d.count; }), backgroundColor: green }],
    { scales: { y: titled(countAxis, "tasks") } }));

  // The stages in the table's order (the one ranking), the first ten; longer than estimated in red.
  var shown = ranked.slice(0, 10);
  var stageUnit = timeUnit(shown.map(function (s) { return Math.abs(s.mean_error_hours); }));
  var box = document.getElementById("chart-stages");
  if (box && shown.length > 5) box.parentNode.style.height = (3 + shown.length * 1.6) + "rem";
  draw("chart-stages", bar(shown.map(function (s) { return s.name; }), [{
    label: "Beyond the estimate, on average", unit: stageUnit.name + " a stage",
    data: shown.map(function (s) { return inUnit(s.mean_error_hours, stageUnit); }),
    backgroundColor: shown.map(function (s) { return s.mean_error_hours > 0 ? red : green; })
  }], { indexAxis: "y", scales: { x: titled({}, stageUnit.name + " beyond the estimate, on average") } }));
  document.documentElement.setAttribute("data-charts-drawn", String(drawn));
})();
