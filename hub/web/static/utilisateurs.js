// Users page (/utilisateurs, office only): GET /api/v1/users, and the
// users' administration of docs/DESIGN.md §12 (POST, PATCH, DELETE). A generated
// password is shown once. Uses window.pointage (ecole.js). Text only
// through textContent.
(function () {
  "use strict";
  var P = window.pointage;
  var N = P.names; // names.js: sites' display names
  var body = document.body;
  var me = body.getAttribute("data-moi") || "";
  var list = document.getElementById("liste");
  var roles = { office: "Bureau", school: "École", kitchen: "Cuisine" };

  function say(msg, isError) {
    document.getElementById("message").textContent = isError ? "" : msg;
    document.getElementById("erreur").textContent = isError ? msg : "";
  }
  // explain puts the users API's errors in French; the hub's message
  // follows when no better one is known.
  function explain(err) {
    var m = String(err && err.message || err);
    if (/last enabled office user/.test(m)) {
      return "c'est le dernier compte du bureau actif : ajoutez ou réactivez d'abord un autre compte du bureau";
    }
    if (/already exists/.test(m)) { return "ce nom de connexion est déjà pris"; }
    if (/invalid user name/.test(m)) { return "nom de connexion invalide : 1 à 64 lettres, chiffres ou . _ - @ (sans espace ni accent)"; }
    if (/a school user needs one/.test(m)) { return "un compte école a besoin de l'identifiant de son école"; }
    if (/invalid site/.test(m)) { return "identifiant d'école invalide (minuscules, chiffres et tirets, comme jules-ferry), ou inutile pour ce rôle"; }
    if (/unacceptable password/.test(m)) { return "mot de passe refusé : 8 caractères au moins, sans retour à la ligne"; }
    if (/no such user/.test(m)) { return "ce compte n'existe plus (la liste est mise à jour)"; }
    return P.explain(err);
  }
  function showPassword(name, password) {
    document.getElementById("mdp-pour").textContent = name;
    document.getElementById("mdp").textContent = password;
    document.getElementById("mot-de-passe").hidden = false;
  }
  document.getElementById("mdp-fermer").addEventListener("click", function () {
    document.getElementById("mdp").textContent = "";
    document.getElementById("mot-de-passe").hidden = true;
  });

  function button(label, id, onClick) {
    var b = P.el("button", { type: "button", id: id }, label);
    b.addEventListener("click", onClick);
    return b;
  }
  function change(name, patch, done) {
    P.api("PATCH", "/api/v1/users/" + encodeURIComponent(name), patch).then(function (answer) {
      if (answer.password) { showPassword(name, answer.password); }
      say(done, false);
      load();
    }, function (err) { say("Échec pour " + name + " : " + explain(err) + ".", true); load(); });
  }

  var timezone = "";
  function render(users) {
    P.clear(list);
    users.forEach(function (u) {
      var tr = P.el("tr", { id: "utilisateur-" + u.name, "class": u.disabled ? "desactive" : "" });
      tr.appendChild(P.el("td", null, u.name + (u.name.toLowerCase() === me.toLowerCase() ? " (vous)" : "")));
      tr.appendChild(P.el("td", null, roles[u.role] || u.role));
      tr.appendChild(P.el("td", u.site ? { title: u.site } : null, u.site ? N.siteName(u.site) : "—"));
      tr.appendChild(P.el("td", { "class": "etat" }, u.disabled ? "désactivé" : "actif"));
      tr.appendChild(P.el("td", null, u.last_login ? P.frDateTime(u.last_login, timezone) : "jamais"));
      var td = P.el("td", { "class": "actions" });
      td.appendChild(button("Nouveau mot de passe", "mdp-" + u.name, function () {
        if (window.confirm("Donner un nouveau mot de passe à " + u.name + " ? Ses sessions ouvertes seront fermées.")) {
          change(u.name, { generate_password: true }, "Nouveau mot de passe pour " + u.name + ".");
        }
      }));
      if (u.disabled) {
        td.appendChild(button("Réactiver", "reactiver-" + u.name, function () {
          change(u.name, { disabled: false }, u.name + " est réactivé.");
        }));
      } else {
        td.appendChild(button("Désactiver", "desactiver-" + u.name, function () {
          change(u.name, { disabled: true }, u.name + " est désactivé : ses sessions sont fermées.");
        }));
      }
      td.appendChild(button("Supprimer", "supprimer-" + u.name, function () {
        if (!window.confirm("Supprimer le compte " + u.name + " ? Cette action est définitive.")) { return; }
        P.api("DELETE", "/api/v1/users/" + encodeURIComponent(u.name)).then(function () {
          say("Le compte " + u.name + " est supprimé.", false);
          load();
        }, function (err) { say("Échec pour " + u.name + " : " + explain(err) + ".", true); });
      }));
      tr.appendChild(td);
      list.appendChild(tr);
    });
  }
  function load() {
    P.api("GET", "/api/v1/users").then(function (data) { timezone = data.timezone || ""; render(data.users || []); },
      function (err) { say("Liste indisponible : " + explain(err) + ".", true); });
  }

  document.getElementById("ajout").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var name = document.getElementById("ajout-nom").value.trim();
    var payload = { name: name, role: document.getElementById("ajout-role").value };
    var site = siteSelect.value === OTHER ? document.getElementById("ajout-site-autre").value.trim() : siteSelect.value;
    var password = document.getElementById("ajout-mdp").value;
    if (site) { payload.site = site; }
    if (password) { payload.password = password; }
    P.api("POST", "/api/v1/users", payload).then(function (answer) {
      if (answer.password) { showPassword(name, answer.password); }
      say("Le compte " + name + " est créé.", false);
      document.getElementById("ajout").reset();
      otherSite();
      load();
    }, function (err) { say("Compte non créé : " + explain(err) + ".", true); });
  });
  // The add form's schools: the known ones by name, or another one's id.
  var OTHER = "*", siteSelect = document.getElementById("ajout-site");
  function otherSite() { document.getElementById("ajout-site-autre-bloc").hidden = siteSelect.value !== OTHER; }
  siteSelect.addEventListener("change", otherSite);
  N.ready.then(function () {
    N.siteIDs().forEach(function (id) {
      var name = N.siteName(id);
      siteSelect.appendChild(P.el("option", { value: id }, name === id ? id : name + " (" + id + ")"));
    });
    siteSelect.appendChild(P.el("option", { value: OTHER }, "Autre école (identifiant)…"));
    load();
  });
})();
