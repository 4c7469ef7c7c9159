// Closed days page (/jours-fermes, office only): GET /api/v1/closed-days
// (the calendar file's entries, read-only, and the dashboard's), POST to
// add one, DELETE to remove one (docs/DESIGN.md §12). The schools to choose from
// are the known sites of GET /api/v1/counts. Uses window.pointage
// (ecole.js). Text only through textContent.
(function () {
  "use strict";
  var P = window.pointage;
  var list = document.getElementById("liste");
  var choices = document.getElementById("ecoles-choix");
  var weekdays = ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"];
  var today = "";

  function say(msg, isError) {
    document.getElementById("message").textContent = isError ? "" : msg;
    document.getElementById("erreur").textContent = isError ? msg : "";
  }
  // explain puts the closed days API's errors in French; the hub's
  // message follows when no better one is known.
  function explain(err) {
    var m = String(err && err.message || err);
    if (/calendar file/.test(m)) { return "ce jour vient du fichier de calendrier de la configuration : il se modifie dans ce fichier"; }
    if (/no such closed day/.test(m)) { return "ce jour fermé a déjà été retiré (la liste est mise à jour)"; }
    if (/more than a year/.test(m)) { return "une fermeture dure au plus un an : vérifiez l'année"; }
    if (/is before from/.test(m)) { return "la date de fin est avant la date de début"; }
    if (/this century/.test(m)) { return "vérifiez l'année"; }
    if (/^(from|to|date)\b/.test(m)) { return "date invalide (jj/mm/aaaa)"; }
    if (/^reason:/.test(m)) { return "le motif est obligatoire (200 caractères au plus, sur une ligne)"; }
    if (/^sites:/.test(m)) { return "choisissez des écoles valides"; }
    return P.explain(err);
  }
  // "2026-11-27" -> "vendredi 27/11/2026"
  function day(iso) {
    var d = new Date(iso + "T12:00:00Z");
    return (isNaN(d.getTime()) ? "" : weekdays[d.getUTCDay()] + " ") + P.frDate(iso);
  }
  function days(e) {
    return e.from === e.to ? day(e.from) : "du " + day(e.from) + " au " + day(e.to);
  }
  // A site's display name (static/names.js), or its id.
  function siteName(id) { return window.pointageNames ? window.pointageNames.siteName(id) : id; }
  function schools(e) {
    return e.sites && e.sites.length ? e.sites.map(siteName).join(", ") : "toute la ville";
  }

  var timezone = "";
  function render(entries) {
    P.clear(list);
    if (!entries.length) {
      list.appendChild(P.el("tr")).appendChild(P.el("td", { colspan: "5" }, "Aucun jour fermé sur la période."));
      return;
    }
    entries.forEach(function (e) {
      var past = today && e.to < today;
      var tr = P.el("tr", { id: "jour-" + e.id, "class": past ? "passe" : "" });
      tr.appendChild(P.el("td", null, days(e) + (past ? " (passé)" : "")));
      tr.appendChild(P.el("td", null, schools(e)));
      tr.appendChild(P.el("td", null, e.reason || "—"));
      var src = e.source === "config"
        ? "fichier de calendrier" + (e.line ? " (ligne " + e.line + ")" : "")
        : "tableau de bord" + (e.created_by ? " (" + e.created_by + (e.created_at ? ", " + P.frDateTime(e.created_at, timezone) : "") + ")" : "");
      tr.appendChild(P.el("td", { "class": "source" }, src));
      var td = P.el("td", { "class": "actions" });
      if (e.source === "dashboard") {
        var b = P.el("button", { type: "button", id: "retirer-" + e.id }, "Retirer");
        b.addEventListener("click", function () { remove(e); });
        td.appendChild(b);
      } else {
        td.textContent = "—";
      }
      tr.appendChild(td);
      list.appendChild(tr);
    });
  }
  function remove(e) {
    if (!window.confirm("Retirer le jour fermé " + days(e) + " (" + schools(e) + ") ? Les enfants inscrits seront de nouveau attendus ce jour-là.")) { return; }
    P.api("DELETE", "/api/v1/closed-days/" + encodeURIComponent(e.id)).then(function () {
      say("Jour fermé retiré : " + days(e) + " (" + schools(e) + ").", false);
      load();
    }, function (err) { say("Échec : " + explain(err) + ".", true); load(); });
  }
  function load() {
    P.api("GET", "/api/v1/closed-days").then(function (data) {
      timezone = data.timezone || "";
      render(data.closed_days || []);
    }, function (err) { say("Liste indisponible : " + explain(err) + ".", true); });
  }

  // The schools to choose from: the known sites (today's counts list them all).
  function loadSchools() {
    P.api("GET", "/api/v1/counts").then(function (data) {
      today = data.date || "";
      P.clear(choices);
      var sites = (data.sites || []).map(function (s) { return s.site; });
      if (!sites.length) { choices.appendChild(P.el("span", null, "Aucune école connue pour l'instant.")); }
      sites.forEach(function (site) {
        var label = P.el("label");
        label.appendChild(P.el("input", { type: "checkbox", id: "ecole-" + site, value: site }));
        label.appendChild(document.createTextNode(siteName(site)));
        choices.appendChild(label);
      });
      scope();
      load();
    }, function (err) { P.clear(choices).appendChild(P.el("span", null, "Écoles indisponibles : " + explain(err) + ".")); load(); });
  }
  function someSchools() { return document.getElementById("portee-ecoles").checked; }
  function scope() {
    choices.className = "ecoles-choix" + (someSchools() ? "" : " inactif");
    Array.prototype.forEach.call(choices.querySelectorAll("input"), function (i) { i.disabled = !someSchools(); });
  }
  document.getElementById("portee-ville").addEventListener("change", scope);
  document.getElementById("portee-ecoles").addEventListener("change", scope);

  document.getElementById("ajout").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var fromText = document.getElementById("ajout-du").value.trim();
    var toText = document.getElementById("ajout-au").value.trim();
    var from = P.isoDate(fromText), to = toText ? P.isoDate(toText) : from;
    var reason = document.getElementById("ajout-motif").value.trim();
    if (!from) { say("Jour non ajouté : date de début invalide (jj/mm/aaaa).", true); return; }
    if (!to) { say("Jour non ajouté : date de fin invalide (jj/mm/aaaa).", true); return; }
    if (!reason) { say("Jour non ajouté : le motif est obligatoire.", true); return; }
    var payload = { from: from, to: to, reason: reason };
    if (someSchools()) {
      payload.sites = Array.prototype.map.call(choices.querySelectorAll("input:checked"), function (i) { return i.value; });
      if (!payload.sites.length) { say("Jour non ajouté : cochez au moins une école, ou choisissez « Toute la ville ».", true); return; }
    }
    P.api("POST", "/api/v1/closed-days", payload).then(function (e) {
      say("Jour fermé ajouté : " + days(e) + " (" + schools(e) + ").", false);
      document.getElementById("ajout").reset();
      scope();
      load();
    }, function (err) { say("Jour non ajouté : " + explain(err) + ".", true); });
  });
  // The names first (static/names.js): the list and the choices show them.
  (window.pointageNames ? window.pointageNames.ready : Promise.resolve()).then(loadSchools);
})();
