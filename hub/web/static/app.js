// Pointage dashboard: draws the figures of GET /api/v1/counts and keeps
// them live from the server-sent events of /api/v1/stream. No framework;
// text goes through textContent only.
(function () {
  "use strict";
  var body = document.body;
  var pageName = body.getAttribute("data-page");
  var site = body.getAttribute("data-site") || "";
  var root = document.getElementById("ecoles");
  if (!root) { return; }
  var N = window.pointageNames; // names.js: sites' and diets' display names
  var query = site ? "?site=" + encodeURIComponent(site) : "";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) { for (var k in attrs) { e.setAttribute(k, attrs[k]); } }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // "2026-11-28" -> "28/11/2026"
  function frDate(iso) {
    var p = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    return p ? p[3] + "/" + p[2] + "/" + p[1] : (iso || "");
  }
  // 24-hour time in the hub's timezone (Pacific/Noumea), whatever the browser's.
  function frTime(d, tz) {
    try {
      return d.toLocaleTimeString("fr-FR", { timeZone: tz || undefined, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
    } catch (e) {
      return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
    }
  }
  function n(v) { return typeof v === "number" ? v : 0; }
  function sessionLabel(s) {
    var t = s.replace(/^garderie-/, "garderie ").replace(/-/g, " ");
    return t.charAt(0).toUpperCase() + t.slice(1);
  }
  function regimes(c) {
    var seen = {}, out = [];
    [c.by_regime || {}, c.expected_by_regime || {}].forEach(function (m) {
      Object.keys(m).forEach(function (k) { if (!seen[k]) { seen[k] = true; out.push(k); } });
    });
    return out.sort(function (a, b) { return a.localeCompare(b, "fr"); });
  }
  function row(tbody, label, value, id) {
    var tr = el("tr");
    tr.appendChild(el("th", { scope: "row" }, label));
    var td = el("td", id ? { id: id } : null, value);
    tr.appendChild(td);
    tbody.appendChild(tr);
  }

  function overviewSite(s) {
    var c = s.canteen || {};
    var sec = el("section", { "class": "ecole", id: "ecole-" + s.site });
    sec.appendChild(el("h2", null, N.siteName(s.site)));
    var t = el("table");
    t.appendChild(el("caption", null, "Cantine, garderie et agents"));
    var tb = el("tbody");
    row(tb, "Repas servis / prévus", n(c.meals) + " / " + n(c.expected), "repas-" + s.site);
    regimes(c).forEach(function (r) {
      row(tb, "  dont " + N.dietLabel(r), n((c.by_regime || {})[r]) + " / " + n((c.expected_by_regime || {})[r]));
    });
    row(tb, "Repas agents", n(c.staff_meals));
    row(tb, "Absents / non prévus", n(c.absent) + " / " + n(c.unexpected));
    row(tb, "Badges inconnus / doublons", n(c.unknown_badges) + " / " + n(c.duplicates));
    var g = s.garderie || {};
    Object.keys(g).sort().forEach(function (k) {
      var v = g[k] || {};
      var txt = n(v.present) + " présents maintenant, " + n(v.children) + " accueillis";
      if (n(v.late) > 0) { txt += " (" + n(v.late) + " en retard)"; }
      row(tb, sessionLabel(k), txt, "garderie-" + s.site + "-" + k);
    });
    row(tb, "Agents présents", n((s.staff || {}).present), "agents-" + s.site);
    var w = (s.warnings || []).length;
    row(tb, "Alertes", w, "alertes-" + s.site);
    if (w > 0) { tb.lastChild.className = "alerte"; }
    t.appendChild(tb);
    sec.appendChild(t);
    return sec;
  }

  function kitchenSite(s) {
    var c = s.canteen || {};
    var sec = el("section", { "class": "ecole", id: "cuisine-" + s.site });
    sec.appendChild(el("h2", null, N.siteName(s.site)));
    var t = el("table");
    var th = el("thead"), tr = el("tr");
    ["Régime", "Servis", "Prévus", "Reste"].forEach(function (h) { tr.appendChild(el("th", { scope: "col" }, h)); });
    th.appendChild(tr);
    t.appendChild(th);
    var tb = el("tbody");
    regimes(c).forEach(function (r) {
      var served = n((c.by_regime || {})[r]), exp = n((c.expected_by_regime || {})[r]);
      var x = el("tr");
      x.appendChild(el("th", { scope: "row" }, N.dietLabel(r)));
      x.appendChild(el("td", null, served));
      x.appendChild(el("td", null, exp));
      x.appendChild(el("td", null, Math.max(exp - served, 0)));
      tb.appendChild(x);
    });
    var tot = el("tr", { "class": "total" });
    tot.appendChild(el("th", { scope: "row" }, "Total enfants"));
    tot.appendChild(el("td", { id: "cuisine-servis-" + s.site }, n(c.meals)));
    tot.appendChild(el("td", null, n(c.expected)));
    tot.appendChild(el("td", null, Math.max(n(c.expected) - n(c.meals), 0)));
    tb.appendChild(tot);
    var ag = el("tr");
    ag.appendChild(el("th", { scope: "row" }, "Repas agents"));
    ag.appendChild(el("td", null, n(c.staff_meals)));
    ag.appendChild(el("td"));
    ag.appendChild(el("td"));
    tb.appendChild(ag);
    t.appendChild(tb);
    sec.appendChild(t);
    return sec;
  }

  function render(data) {
    document.getElementById("date-jour").textContent = "Journée du " + frDate(data.date);
    // The hub's time of the figures: the demo accelerates the hub's clock.
    document.getElementById("maj").textContent = "mis à jour à " + frTime(data.now ? new Date(data.now) : new Date(), data.timezone);
    var sites = data.sites || [];
    root.textContent = "";
    if (sites.length === 0) {
      root.appendChild(el("p", null, "Aucune école connue pour l'instant."));
      return;
    }
    sites.forEach(function (s) {
      root.appendChild(pageName === "cuisine" ? kitchenSite(s) : overviewSite(s));
    });
    // The overview's alerts and charts (appareils.js, charts.js) refresh on it.
    document.dispatchEvent(new CustomEvent("pointage:counts", { detail: data }));
  }

  function live(on) {
    var e = document.getElementById("etat-direct");
    e.textContent = on ? "en direct" : "connexion perdue, nouvel essai…";
    e.className = on ? "en-ligne" : "hors-ligne";
  }

  N.ready.then(function () {
    return fetch("/api/v1/counts" + query, { credentials: "same-origin", headers: { "Accept": "application/json", "X-Requested-With": "pointage" } });
  })
    .then(function (r) {
      if (r.status === 401) { window.location.assign("/connexion"); throw new Error("session expirée"); }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    })
    .then(render)
    .catch(function (err) { root.textContent = ""; root.appendChild(el("p", { "class": "erreur" }, "Chiffres indisponibles : " + err.message)); });

  if (window.EventSource) {
    var es = new EventSource("/api/v1/stream" + query);
    es.addEventListener("open", function () { live(true); });
    es.addEventListener("counts", function (ev) {
      live(true);
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; /* a bad frame: wait for the next */ }
      // Drawn once the names are known: a frame that comes first would
      // show the diets' codes ("sans-porc") until the next one.
      N.ready.then(function () { render(data); });
    });
    es.addEventListener("error", function () {
      live(false);
      // A closed stream may mean an expired session: check before retrying.
      fetch("/api/v1/counts" + query, { credentials: "same-origin", headers: { "X-Requested-With": "pointage" } }).then(function (r) {
        if (r.status === 401) { es.close(); window.location.assign("/connexion"); }
      }).catch(function () {});
    });
  }
})();
