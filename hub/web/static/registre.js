// Roster page (/registre, office only): POST /api/v1/roster (docs/DESIGN.md §12).
// The chosen file is sent as a dry run first: the figures and who is
// added, changed (before → after), removed, and the rejected rows with
// their French reason; then applied from the date chosen (dry_run=false).
// Uses window.pointage (ecole.js). Text only through textContent.
(function () {
  "use strict";
  var P = window.pointage;
  var el = P.el;
  var csrf = document.body.getAttribute("data-csrf") || "";
  // The API's bound (api.MaxRosterUpload, docs/API.md): a larger file is
  // refused here, before it is sent.
  var MAX_BYTES = 20 * 1024 * 1024;

  var input = document.getElementById("fichier");
  var dateInput = document.getElementById("date-effet");
  var apercu = document.getElementById("apercu");
  var listes = document.getElementById("listes");
  var applyForm = document.getElementById("appliquer");
  var busy = false;
  var previewed = null; // the file and date of the dry run shown: {file, from}

  var fieldLabels = { badge: "Badge", role: "Rôle", last_name: "Nom", first_name: "Prénom", site: "École", "class": "Classe",
    regime: "Régime", canteen_days: "Jours de cantine", garderie: "Garderie", card_number: "Numéro de carte", family_id: "Famille" };
  var roleLabels = { child: "enfant", staff: "agent" };

  function say(id, msg) { document.getElementById(id).textContent = msg || ""; }
  function progress(msg) { say("progression", msg); }
  function error(msg) { say("erreur", msg); if (msg) { say("message", ""); } }
  function num(n) { return (n || 0).toLocaleString("fr-FR"); }
  function plural(n, one, many) { return num(n) + " " + (n > 1 ? many : one); }
  function megabytes(b) { return (b / 1048576).toFixed(1).replace(".", ","); }
  function value(field, v) {
    if (v === "" || v === undefined || v === null) { return "(vide)"; }
    return field === "role" ? (roleLabels[v] || v) : v;
  }

  // send posts the file to the API; progress shows while it is sent and read.
  function send(file, from, dryRun) {
    return new Promise(function (resolve, reject) {
      var x = new XMLHttpRequest();
      var reading = dryRun ? "Lecture du fichier…" : "Application des changements…";
      x.open("POST", "/api/v1/roster?dry_run=" + (dryRun ? "true" : "false") + (from ? "&from=" + encodeURIComponent(from) : ""));
      x.setRequestHeader("Accept", "application/json");
      x.setRequestHeader("X-Requested-With", "pointage");
      x.setRequestHeader("X-CSRF-Token", csrf);
      x.upload.onprogress = function (ev) {
        if (ev.lengthComputable && ev.total > 0 && ev.loaded < ev.total) {
          progress("Envoi du fichier… " + Math.floor(100 * ev.loaded / ev.total) + " %");
        }
      };
      x.upload.onload = function () { progress(reading); };
      x.onload = function () {
        var data = {};
        try { data = JSON.parse(x.responseText); } catch (e) { data = {}; }
        if (x.status === 401) { window.location.assign("/connexion"); }
        if (x.status >= 200 && x.status < 300) { resolve(data); return; }
        var err = new Error(data && data.error ? data.error : "HTTP " + x.status);
        err.status = x.status;
        err.data = data;
        reject(err);
      };
      x.onerror = function () {
        var err = new Error("le hub ne répond pas (réseau ?)");
        err.status = 0;
        reject(err);
      };
      progress(reading);
      x.send(file);
    });
  }

  // check refuses, before sending, what the API would refuse anyway.
  function check(file) {
    if (!file) { return "Choisissez d'abord un fichier."; }
    if (!/\.(xlsx|csv)$/i.test(file.name)) {
      if (/\.xls$/i.test(file.name)) {
        return "« " + file.name + " » est un ancien classeur Excel (.xls) : dans Excel, Enregistrer sous, Classeur Excel (.xlsx), puis choisissez ce fichier.";
      }
      return "« " + file.name + " » n'est ni un classeur Excel (.xlsx) ni un fichier CSV (.csv).";
    }
    if (file.size > MAX_BYTES) {
      return "Fichier trop gros (" + megabytes(file.size) + " Mo) : 20 Mo au plus. Une liste de 10 000 personnes fait environ 1 Mo ; " +
        "enregistrez seulement la liste (première feuille) en .xlsx ou en CSV.";
    }
    return "";
  }

  function explain(err) {
    if (err && err.status === 403) { return "votre compte n'a pas ce droit : le registre est réservé au bureau"; }
    return P.explain(err);
  }

  function table(id, caption, total, shown, headers, rows) {
    var sec = el("section", { "class": "liste", id: "liste-" + id });
    var title = caption + " (" + num(total) + ")";
    if (shown < total) { title += " — les " + num(shown) + " premiers"; }
    sec.appendChild(el("h3", null, title));
    var t = el("table", { id: id });
    var thead = el("thead"), tr = el("tr");
    headers.forEach(function (h) { tr.appendChild(el("th", { scope: "col" }, h)); });
    thead.appendChild(tr);
    t.appendChild(thead);
    var tb = el("tbody");
    rows.forEach(function (r) { tb.appendChild(r); });
    t.appendChild(tb);
    sec.appendChild(t);
    listes.appendChild(sec);
  }
  function row(id, cells) {
    var tr = el("tr", { id: id });
    cells.forEach(function (c) {
      if (c instanceof Node) { tr.appendChild(c); } else { tr.appendChild(el("td", null, c)); }
    });
    return tr;
  }
  function changesCell(changes) {
    var td = el("td", { "class": "changements" });
    (changes || []).forEach(function (c) {
      var d = el("div", { "class": "changement" });
      d.appendChild(el("span", { "class": "champ" }, (fieldLabels[c.field] || c.field) + " : "));
      d.appendChild(el("span", { "class": "avant" }, value(c.field, c.old)));
      d.appendChild(document.createTextNode(" → "));
      d.appendChild(el("span", { "class": "apres" }, value(c.field, c["new"])));
      td.appendChild(d);
    });
    return td;
  }

  function renderRejected(rejected) {
    if (!rejected || rejected.length === 0) { return; }
    table("rejetees", "Lignes rejetées, non importées", rejected.length, rejected.length, ["Ligne", "Motif"],
      rejected.map(function (r) { return row("rejetee-" + r.line, [r.line, r.reason]); }));
  }

  // render shows a dry run's (or an import's) answer.
  function render(a, applied) {
    P.clear(listes);
    var chiffres = P.clear(document.getElementById("chiffres"));
    var rejected = a.rejected || [];
    [["chiffre-ajoutes", plural(a.added, applied ? "ajouté" : "à ajouter", applied ? "ajoutés" : "à ajouter")],
      ["chiffre-modifies", plural(a.changed, applied ? "modifié" : "à modifier", applied ? "modifiés" : "à modifier")],
      ["chiffre-retires", plural(a.removed, applied ? "retiré" : "à retirer", applied ? "retirés" : "à retirer") + " (absents du fichier)"],
      ["chiffre-inchanges", plural(a.unchanged, "inchangé", "inchangés")],
      ["chiffre-rejetees", plural(rejected.length, "ligne rejetée", "lignes rejetées")],
      ["chiffre-conserves", plural(a.kept, "inscrit conservé tel quel (sa ligne est rejetée)", "inscrits conservés tels quels (leur ligne est rejetée)")]
    ].forEach(function (c) {
      if (c[0] === "chiffre-conserves" && !a.kept) { return; }
      chiffres.appendChild(el("li", { id: c[0] }, c[1]));
    });
    if (!a.added && !a.changed && !a.removed) {
      listes.appendChild(el("p", { id: "aucun-changement" }, applied ? "Aucun changement : le registre était déjà à jour." : "Aucun changement : le registre est déjà à jour."));
    }

    var added = a.added_people || [], changed = a.changed_people || [], removed = a.removed_people || [];
    if (a.added > 0) {
      table("ajoutes", applied ? "Ajoutés" : "À ajouter", a.added, added.length, ["Ligne", "Identifiant", "Nom", "Rôle", "École", "Classe"],
        added.map(function (p) { return row("ajoute-" + p.person_id, [p.line, p.person_id, p.name, value("role", p.role), p.site, p["class"]]); }));
    }
    if (a.changed > 0) {
      table("modifies", applied ? "Modifiés" : "À modifier", a.changed, changed.length, ["Ligne", "Identifiant", "Nom", "École", "Avant → après"],
        changed.map(function (p) { return row("modifie-" + p.person_id, [p.line, p.person_id, p.name, p.site, changesCell(p.changes)]); }));
    }
    if (a.removed > 0) {
      table("retires", applied ? "Retirés" : "À retirer", a.removed, removed.length, ["Identifiant", "Nom", "Rôle", "École", "Classe"],
        removed.map(function (p) { return row("retire-" + p.person_id, [p.person_id, p.name, value("role", p.role), p.site, p["class"]]); }));
    }
    renderRejected(rejected);
    apercu.hidden = false;
  }

  function preview(from) {
    var file = input.files && input.files[0];
    var bad = check(file);
    if (bad) { error(bad); return; }
    if (busy) { return; }
    busy = true;
    error("");
    say("message", "");
    previewed = null;
    applyForm.hidden = true;
    send(file, from, true).then(function (a) {
      previewed = { file: file, from: a.from };
      dateInput.value = P.frDate(a.from);
      document.getElementById("apercu-titre").textContent = "Aperçu au " + P.frDate(a.from) + " : rien n'est encore modifié";
      render(a, false);
      applyForm.hidden = false;
    }, function (err) {
      apercu.hidden = true;
      error("Fichier non lu : " + explain(err));
      if (err.data && err.data.rejected && err.data.rejected.length) { // no good row: why
        P.clear(listes);
        P.clear(document.getElementById("chiffres"));
        document.getElementById("apercu-titre").textContent = "Lignes du fichier";
        renderRejected(err.data.rejected);
        apercu.hidden = false;
      }
    }).then(function () { busy = false; progress(""); });
  }

  function apply() {
    var file = input.files && input.files[0];
    var from = P.isoDate(dateInput.value);
    if (!from) { error("Date invalide : écrivez-la jj/mm/aaaa, par exemple 28/11/2026."); return; }
    if (!previewed || previewed.file !== file || previewed.from !== from) { preview(from); return; } // see first what that date does
    if (busy) { return; }
    if (!window.confirm("Appliquer ces changements au registre à partir du " + P.frDate(from) + " ?")) { return; }
    busy = true;
    error("");
    send(file, from, false).then(function (a) {
      previewed = null;
      applyForm.hidden = true;
      document.getElementById("apercu-titre").textContent = "Changements appliqués à partir du " + P.frDate(a.from);
      render(a, true);
      say("message", "Registre mis à jour à partir du " + P.frDate(a.from) + " : " + plural(a.added, "ajout", "ajouts") + ", " +
        plural(a.changed, "modification", "modifications") + ", " + plural(a.removed, "retrait", "retraits") + ", " +
        plural((a.rejected || []).length, "ligne rejetée", "lignes rejetées") + ".");
    }, function (err) {
      error("Changements non appliqués : " + explain(err));
    }).then(function () { busy = false; progress(""); });
  }

  document.getElementById("choix-fichier").addEventListener("submit", function (ev) {
    ev.preventDefault();
    preview(previewed ? P.isoDate(dateInput.value) : "");
  });
  input.addEventListener("change", function () { preview(""); });
  dateInput.addEventListener("change", function () {
    var from = P.isoDate(dateInput.value);
    if (!from) { error("Date invalide : écrivez-la jj/mm/aaaa, par exemple 28/11/2026."); return; }
    if (previewed && previewed.from !== from) { preview(from); }
  });
  applyForm.addEventListener("submit", function (ev) { ev.preventDefault(); apply(); });
})();
