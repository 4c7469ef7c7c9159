// Display names of sites and diets (docs/DESIGN.md §12) for every page's
// script: GET /api/v1/names, read once per page. window.pointageNames:
//   ready          a promise, settled once the names are known (or could
//                  not be read: ids and codes are then shown as they are);
//   siteName(id)   "École de Rivière-Salée", or the id;
//   schoolLabel(id) the name, or "École " + the id when it has none;
//   dietLabel(code) "Végétarien", or the code;
//   siteIDs()      the sites the names know, by name.
// The API and the pages' data attributes keep the ids.
(function () {
  "use strict";
  var sites = {}, diets = {};
  var N = window.pointageNames = {};
  N.siteName = function (id) { return (id && sites[id]) || id || ""; };
  N.schoolLabel = function (id) { return sites[id] && sites[id] !== id ? sites[id] : "École " + (id || ""); };
  N.dietLabel = function (code) { return (code && diets[code]) || code || ""; };
  N.siteIDs = function () {
    return Object.keys(sites).sort(function (a, b) { return N.siteName(a).localeCompare(N.siteName(b), "fr"); });
  };
  N.ready = fetch("/api/v1/names", { credentials: "same-origin", headers: { "Accept": "application/json", "X-Requested-With": "pointage" } })
    .then(function (r) { return r.ok ? r.json() : {}; })
    .then(function (v) { sites = (v && v.sites) || {}; diets = (v && v.diets) || {}; }, function () {})
    .then(function () { return N; });
})();
