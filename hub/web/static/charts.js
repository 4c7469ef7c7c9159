// Pointage dashboard: the overview's two charts, drawn with the vendored
// Chart.js (static/vendor, no CDN): the day's check-ins per quarter hour
// and service (GET /api/v1/series/day) and the month's meals per day
// (GET /api/v1/series/month). They follow the live updates app.js
// announces ("pointage:counts"). Labels come from the hub, in its timezone.
(function () {
  "use strict";
  var dayCanvas = document.getElementById("graphique-jour");
  var monthCanvas = document.getElementById("graphique-mois");
  var monthInput = document.getElementById("mois");
  if (!dayCanvas || !monthCanvas || !window.Chart) { return; }
  var site = document.body.getAttribute("data-site") || "";
  var siteParam = site ? "&site=" + encodeURIComponent(site) : "";
  var Chart = window.Chart;
  Chart.defaults.locale = "fr-FR";
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';

  var services = [
    { key: "canteen", label: "Cantine", color: "#0b5cad" },
    { key: "garderie", label: "Garderie", color: "#1e7b34" },
    { key: "staff", label: "Personnel", color: "#b06d00" }
  ];
  var dayChart = null, monthChart = null, currentMonth = "";

  function get(path) {
    return fetch(path, { credentials: "same-origin", headers: { "Accept": "application/json", "X-Requested-With": "pointage" } })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (b) {
          if (!r.ok) { throw new Error(b.error || ("HTTP " + r.status)); }
          return b;
        });
      });
  }
  function failed(canvas, err) {
    var fig = canvas.closest("figure");
    var p = fig.querySelector(".erreur") || fig.appendChild(document.createElement("p"));
    p.className = "erreur";
    p.textContent = "Graphique indisponible : " + err.message;
  }
  function cleared(canvas) {
    var p = canvas.closest("figure").querySelector(".erreur");
    if (p) { p.remove(); }
  }
  function frDate(iso) {
    var p = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    return p ? p[3] + "/" + p[2] + "/" + p[1] : (iso || "");
  }

  // ---- the day, per quarter hour ----
  function drawDay(v) {
    var series = v.series || {}, labels = v.buckets || [];
    // Show 06:00-18:00 at least, widened to any quarter hour with scans.
    var lo = 24, hi = 72;
    services.forEach(function (s) {
      (series[s.key] || []).forEach(function (n, i) {
        if (n > 0) { lo = Math.min(lo, i); hi = Math.max(hi, i + 1); }
      });
    });
    var total = 0;
    var datasets = services.filter(function (s) { return series[s.key]; }).map(function (s) {
      var data = series[s.key].slice(lo, hi);
      data.forEach(function (n) { total += n; });
      return { label: s.label, data: data, backgroundColor: s.color, borderColor: s.color, stack: "pointages" };
    });
    var shown = labels.slice(lo, hi);
    if (dayChart) {
      dayChart.data.labels = shown;
      dayChart.data.datasets = datasets;
      dayChart.update();
    } else {
      dayChart = new Chart(dayCanvas, {
        type: "bar",
        data: { labels: shown, datasets: datasets },
        options: {
          responsive: true, maintainAspectRatio: false,
          scales: { x: { stacked: true, ticks: { maxRotation: 0, autoSkipPadding: 12 } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
          plugins: {
            legend: { position: "bottom" },
            tooltip: { callbacks: { title: function (items) { return items.length ? "de " + items[0].label + " (15 min)" : ""; } } }
          }
        }
      });
    }
    dayCanvas.setAttribute("data-total", String(total));
    dayCanvas.setAttribute("aria-label", "Pointages du " + frDate(v.date) + " par quart d'heure : " + total + " en tout");
    dayCanvas.closest("figure").querySelector("figcaption").textContent = "Pointages du " + frDate(v.date) + " par quart d'heure";
    cleared(dayCanvas);
  }
  function loadDay() {
    return get("/api/v1/series/day?" + siteParam.slice(1)).then(drawDay).catch(function (err) { failed(dayCanvas, err); });
  }

  // ---- the month, meals per day ----
  function drawMonth(v) {
    var days = v.days || [];
    var labels = days.map(function (d) { return d.date.slice(8, 10) + "/" + d.date.slice(5, 7); });
    var meals = days.map(function (d) { return d.meals; });
    var expected = days.map(function (d) { return d.expected; });
    var total = meals.reduce(function (a, b) { return a + b; }, 0);
    var datasets = [
      { type: "bar", label: "Repas servis", data: meals, backgroundColor: "#0b5cad", order: 2 },
      { type: "line", label: "Repas prévus", data: expected, borderColor: "#b3261e", backgroundColor: "#b3261e", pointRadius: 2, order: 1 }
    ];
    if (monthChart) {
      monthChart.data.labels = labels;
      monthChart.data.datasets = datasets;
      monthChart.update();
    } else {
      monthChart = new Chart(monthCanvas, {
        data: { labels: labels, datasets: datasets },
        options: {
          responsive: true, maintainAspectRatio: false,
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { ticks: { maxRotation: 0 } } },
          plugins: { legend: { position: "bottom" } }
        }
      });
    }
    monthCanvas.setAttribute("data-total", String(total));
    monthCanvas.setAttribute("aria-label", "Repas servis par jour, " + monthLabel(v.month) + " : " + total + " en tout");
    cleared(monthCanvas);
  }
  function loadMonth() {
    var m = monthInput && monthInput.value ? "month=" + encodeURIComponent(monthInput.value) : "";
    return get("/api/v1/series/month?" + m + siteParam).then(function (v) {
      if (!currentMonth) { currentMonth = v.month; fillMonths(v.month); }
      drawMonth(v);
    }).catch(function (err) { failed(monthCanvas, err); });
  }

  // The month selector: the current month and the 23 before, in French
  // (an <input type="month"> would speak the browser's language).
  var monthNames = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"];
  function monthLabel(ym) {
    var m = parseInt(String(ym).slice(5, 7), 10);
    return m >= 1 && m <= 12 ? monthNames[m - 1] + " " + String(ym).slice(0, 4) : String(ym);
  }
  function fillMonths(current) {
    if (!monthInput || monthInput.options.length) { return; }
    var y = parseInt(current.slice(0, 4), 10), m = parseInt(current.slice(5, 7), 10);
    for (var i = 0; i < 24; i++) {
      var v = y + "-" + (m < 10 ? "0" : "") + m;
      var o = document.createElement("option");
      o.value = v;
      o.textContent = monthNames[m - 1] + " " + y;
      monthInput.appendChild(o);
      if (--m === 0) { m = 12; y--; }
    }
    monthInput.value = current;
  }

  if (monthInput) {
    monthInput.addEventListener("change", function () {
      if (/^\d{4}-\d{2}$/.test(monthInput.value)) { lastMonth = Date.now(); loadMonth(); }
    });
  }

  // Live: the day at most every 5 s, the month (when it is the current
  // one) at most every minute.
  var lastDay = 0, lastMonth = 0, dayTimer = null;
  document.addEventListener("pointage:counts", function () {
    var now = Date.now();
    if (!dayTimer) {
      dayTimer = setTimeout(function () { dayTimer = null; lastDay = Date.now(); loadDay(); }, Math.max(0, 5000 - (now - lastDay)));
    }
    if (now - lastMonth > 60000 && (!monthInput || monthInput.value === currentMonth)) {
      lastMonth = now;
      loadMonth();
    }
  });
  lastDay = Date.now();
  lastMonth = Date.now();
  loadDay();
  loadMonth();
})();
