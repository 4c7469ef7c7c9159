// Schools' names page (/ecoles, office only): GET /api/v1/sites, and
// PUT /api/v1/sites/{site}/name (docs/DESIGN.md §12) for each school's
// display name; the diets' labels, read only. Uses window.pointage
// (ecole.js). Text only through textContent.
(function () {
  "use strict";
  var P = window.pointage;
  var list = document.getElementById("liste-ecoles");
  var diets = document.getElementById("liste-regimes");
  var origins = {
    dashboard: "saisi ici",
    sites_file: "fichier des sites",
    id: "aucun nom : l'identifiant",
    built_in: "libellé intégré"
  };

  function say(msg, isError) {
    document.getElementById("message").textContent = isError ? "" : msg;
    document.getElementById("erreur").textContent = isError ? msg : "";
  }
  function explain(err) {
    var m = String(err && err.message || err);
    if (/at most \d+/.test(m)) { return "nom trop long (100 caractères au plus)"; }
    if (/control character/.test(m)) { return "le nom ne peut contenir ni retour à la ligne ni tabulation"; }
    return P.explain(err);
  }

  function origin(s) {
    var t = origins[s.source] || s.source;
    if (s.source === "dashboard" && s.file_name) { t += " (fichier des sites : « " + s.file_name + " »)"; }
    return t;
  }

  function save(site, name) {
    P.api("PUT", "/api/v1/sites/" + encodeURIComponent(site) + "/name", { name: name }).then(function (v) {
      say(v.source === "dashboard" ? "Nom enregistré : « " + v.name + " »." :
        "Nom saisi retiré : « " + v.name + " » est affiché (" + (origins[v.source] || v.source) + ").", false);
      load();
    }, function (err) { say("Nom non enregistré pour " + site + " : " + explain(err) + ".", true); });
  }

  function renderSites(sites) {
    P.clear(list);
    if (sites.length === 0) {
      list.appendChild(P.el("tr", null)).appendChild(P.el("td", { colspan: "4" }, "Aucune école connue pour l'instant."));
    }
    sites.forEach(function (s) {
      var tr = P.el("tr", { id: "site-" + s.site });
      tr.appendChild(P.el("td", null, s.site));
      tr.appendChild(P.el("td", { id: "nom-affiche-" + s.site }, s.name));
      tr.appendChild(P.el("td", { "class": "origine" }, origin(s)));
      var td = P.el("td");
      var form = P.el("form", { id: "form-" + s.site });
      var input = P.el("input", { id: "nom-" + s.site, maxlength: "100", autocomplete: "off", "aria-label": "Nom de " + s.site });
      input.value = s.source === "id" ? "" : s.name;
      form.appendChild(input);
      form.appendChild(P.el("button", { type: "submit", id: "enregistrer-" + s.site }, "Enregistrer"));
      if (s.source === "dashboard") {
        var back = P.el("button", { type: "button", id: "retablir-" + s.site }, s.file_name ? "Revenir au nom du fichier" : "Retirer le nom");
        back.addEventListener("click", function () { save(s.site, ""); });
        form.appendChild(back);
      }
      form.addEventListener("submit", function (ev) { ev.preventDefault(); save(s.site, input.value); });
      td.appendChild(form);
      tr.appendChild(td);
      list.appendChild(tr);
    });
  }

  function renderDiets(ds) {
    P.clear(diets);
    ds.forEach(function (d) {
      var tr = P.el("tr", { id: "regime-" + d.code });
      tr.appendChild(P.el("td", null, d.code));
      tr.appendChild(P.el("td", null, d.label));
      tr.appendChild(P.el("td", { "class": "origine" }, origins[d.source] || d.source));
      diets.appendChild(tr);
    });
  }

  function load() {
    P.api("GET", "/api/v1/sites").then(function (v) { renderSites(v.sites || []); renderDiets(v.diets || []); },
      function (err) { say("Liste indisponible : " + explain(err) + ".", true); });
  }
  load();
})();
