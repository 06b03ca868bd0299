// Tidings admin console: small progressive enhancements; every page works without them.
"use strict";

function confirmForms() {
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
}

function copyButtons() {
  var status = document.getElementById("copy-status");
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var text = source ? source.textContent : "";
      var done = function () {
        button.textContent = "Copied";
        if (status) { status.textContent = "Copied " + text; }
        window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
      };
      var fallback = function () {
        selectText(source);
        try { if (document.execCommand("copy")) { done(); } } catch (e) { /* stays selected */ }
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, fallback);
      } else {
        fallback();
      }
    });
  });
}

function selectText(node) {
  if (!node) { return; }
  var range = document.createRange();
  range.selectNodeContents(node);
  var selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

function humanSize(bytes) {
  var units = ["B", "KiB", "MiB", "GiB", "TiB"];
  var size = bytes, unit = 0;
  while (size >= 1024 && unit < units.length - 1) { size /= 1024; unit += 1; }
  return unit === 0 ? size + " B" : size.toFixed(1) + " " + units[unit];
}

function pick(data, path) {
  return path.split(".").reduce(function (value, key) {
    return value === null || value === undefined ? undefined : value[key];
  }, data);
}

// The dashboard's figures are refreshed every 15 s; the queue sparkline grows as it runs.
function liveDashboard() {
  var section = document.querySelector("[data-live]");
  if (!section) { return; }
  var url = section.getAttribute("data-live");
  var history = [];
  var refresh = function () {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (reply) { return reply.ok ? reply.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        document.querySelectorAll("[data-figure]").forEach(function (node) {
          var value = pick(data, node.getAttribute("data-figure"));
          if (value === undefined || value === null) { return; }
          node.textContent = node.getAttribute("data-format") === "size" ? humanSize(value) : String(value);
        });
        history.push(Number(data.queue_messages) || 0);
        if (history.length > 60) { history.shift(); }
        drawSpark(history);
      })
      .catch(function () { /* the next tick tries again */ });
  };
  refresh();
  window.setInterval(refresh, 15000);
}

function drawSpark(values) {
  var svg = document.querySelector("svg[data-spark]");
  if (!svg) { return; }
  var line = svg.querySelector("polyline");
  var top = Math.max.apply(null, values.concat([1]));
  var step = values.length > 1 ? 480 / (values.length - 1) : 480;
  var points = values.map(function (v, i) {
    return (i * step).toFixed(1) + "," + (79 - (v / top) * 76).toFixed(1);
  });
  if (points.length === 1) { points.push("480," + points[0].split(",")[1]); }
  line.setAttribute("points", points.join(" "));
}

document.addEventListener("DOMContentLoaded", function () {
  confirmForms();
  copyButtons();
  liveDashboard();
});
