// The dashboard's charts, drawn with the vendored Chart.js from the figures the page carries as JSON
// (json_script: no inline script, so the strict CSP holds). Every chart's numbers are also in a table.
(function () {
  "use strict";
  var node = document.getElementById("dashboard-data");
  if (!node || !window.Chart) return;
  var f = JSON.parse(node.textContent);
  var blue = "#3b82f6", green = "#16a34a", red = "#dc2626", grey = "#9ca3af", amber = "#d97706";
  var cap = function (s) { return s.charAt(0).toUpperCase() + s.slice(1); };
  var base = { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } } };
  var drawn = 0;

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    config.options = Object.assign({}, base, config.options || {});
    new window.Chart(canvas, config);
    canvas.setAttribute("data-drawn", "true");
    drawn += 1;
  }
  function bar(labels, datasets, extra) {
    return { type: "bar", data: { labels: labels, datasets: datasets }, options: extra };
  }
  var prio = f.completion.by_priority;
  var prioLabels = prio.map(function (p) { return cap(p.priority); });

  draw("chart-priority", bar(Object.keys(f.counts.by_priority).map(cap),
    [{ label: "Tasks", data: Object.values(f.counts.by_priority), backgroundColor: [grey, blue, amber, red] }]));
  draw("chart-trend", { type: "line", data: {
    labels: f.completion_trend.map(function (w) { return w.week; }),
    datasets: [{ label: "Completed", data: f.completion_trend.map(function (w) { return w.count; }), borderColor: green, backgroundColor: green }]
  } });
  draw("chart-delay", bar(prioLabels, [{ label: "Mean delay (days)", data: prio.map(function (p) { return p.mean_delay_days; }), backgroundColor: amber }]));
  draw("chart-time", bar(prioLabels, [
    { label: "Mean completion (h)", data: prio.map(function (p) { return p.mean_hours; }), backgroundColor: blue },
    { label: "Mean cycle (h)", data: prio.map(function (p) { return p.mean_cycle_hours; }), backgroundColor: green }
  ], { plugins: { legend: { display: true } } }));
  draw("chart-daily", bar(f.daily_completions.map(function (d) { return d.day; }),
    [{ label: "Completed", data: f.daily_completions.map(function (d) { return d.count; }), backgroundColor: green }]));
  draw("chart-stages", bar(f.stages.bottlenecks.map(function (s) { return s.name; }),
    [{ label: "Mean overrun (h)", data: f.stages.bottlenecks.map(function (s) { return s.mean_overrun_hours; }), backgroundColor: red }],
    { indexAxis: "y" }));
  draw("chart-throughput", bar(f.throughput.map(function (w) { return w.week; }), [
    { label: "Created", data: f.throughput.map(function (w) { return w.created; }), backgroundColor: blue },
    { label: "Completed", data: f.throughput.map(function (w) { return w.completed; }), backgroundColor: green }
  ], { plugins: { legend: { display: true } } }));
  draw("chart-workload", bar(f.workload.map(function (w) { return w.name; }), [
    { label: "Open", data: f.workload.map(function (w) { return w.open; }), backgroundColor: blue },
    { label: "Overdue", data: f.workload.map(function (w) { return w.overdue; }), backgroundColor: red },
    { label: "Completed", data: f.workload.map(function (w) { return w.completed; }), backgroundColor: green }
  ], { plugins: { legend: { display: true } } }));
  document.documentElement.setAttribute("data-charts-drawn", String(drawn));
})();
