// Roll-call (/appel) for a tablet: choose a class (canteen) or a garderie
// session, then tap a child: the tap is stored as a correction add_scan
// (reason "appel sur tablette", attributed by the hub to the logged-in
// user). The button changes at once and is confirmed by the API's answer.
// Uses the helpers of ecole.js (window.pointage).
(function () {
  "use strict";
  var P = window.pointage;
  var el = P.el;
  var site = "", people = null, data = null, group = P.param("groupe");
  var pending = {}; // person_id -> true while a tap is being recorded
  var groupsRoot = document.getElementById("groupes");
  var kidsRoot = document.getElementById("enfants");
  var message = document.getElementById("appel-message");

  function say(text, isError) {
    message.textContent = text;
    message.className = "appel-message" + (isError ? " erreur" : " message-ok");
  }

  function groups() {
    var out = [], seen = {};
    (people.children || []).forEach(function (c) {
      var k = c["class"] || "";
      if (!seen[k]) { seen[k] = true; out.push({ id: "classe:" + k, label: "Cantine · " + (k || "sans classe") }); }
    });
    out.sort(function (a, b) { return a.label.localeCompare(b.label, "fr"); });
    (data.garderie || []).forEach(function (g) { out.push({ id: "session:" + g.name, label: P.sessionLabel(g.name) + " (" + g.start + "–" + g.end + ")" }); });
    return out;
  }

  function session(name) {
    var list = data.garderie || [];
    for (var i = 0; i < list.length; i++) { if (list[i].name === name) { return list[i]; } }
    return null;
  }

  // state of a child in the chosen group: {etat, text, service, dir}
  function stateOf(c) {
    if (group.indexOf("session:") === 0) {
      var g = session(group.slice(8)), ch = null;
      (g ? g.children : []).forEach(function (x) { if (x.person_id === c.person_id) { ch = x; } });
      if (ch && ch.present) { return { etat: "present", text: "Présent depuis " + P.hm(ch["in"]) + " — toucher pour le départ", service: "garderie", dir: "out" }; }
      if (ch && ch.out) { return { etat: "parti", text: "Parti à " + P.hm(ch.out), service: "garderie", dir: "in" }; }
      return { etat: "absent", text: "Pas encore arrivé", service: "garderie", dir: "in" };
    }
    var served = null;
    data.canteen.served.forEach(function (s) { if (s.person_id === c.person_id) { served = s; } });
    if (served) { return { etat: "present", text: "Servi à " + P.hm(served.first), service: "canteen", dir: "" }; }
    var declared = (data.canteen.declared_absent || []).some(function (p) { return p.person_id === c.person_id; });
    if (declared) { return { etat: "absent", text: "Absence déclarée", service: "canteen", dir: "in" }; }
    return { etat: "absent", text: c.canteen_today ? "Pas encore pointé" : "Non inscrit ce jour", service: "canteen", dir: "in" };
  }

  function members() {
    var kids = people.children || [];
    if (group.indexOf("classe:") === 0) {
      var k = group.slice(7);
      return kids.filter(function (c) { return (c["class"] || "") === k; });
    }
    var name = group.slice(8), g = session(name), inSession = {};
    (g ? g.children : []).forEach(function (x) { inSession[x.person_id] = true; });
    var enrolled = kids.filter(function (c) { return (c.garderie || []).indexOf(name) >= 0 || inSession[c.person_id]; });
    return P.rosterSession(name) ? enrolled : kids;
  }

  function render() {
    document.getElementById("titre-site").textContent = "— " + site;
    document.getElementById("date-jour").textContent = "Journée du " + P.frDate(data.date);
    document.getElementById("maj").textContent = "mis à jour à " + P.hm(data.now);
    P.clear(groupsRoot);
    var list = groups();
    var known = list.some(function (g) { return g.id === group; });
    if (!known) { group = ""; }
    list.forEach(function (g) {
      var b = el("button", { type: "button", "aria-pressed": g.id === group ? "true" : "false", "data-groupe": g.id }, g.label);
      b.addEventListener("click", function () { group = g.id; P.setParam("groupe", group); say("", false); render(); });
      groupsRoot.appendChild(b);
    });
    P.clear(kidsRoot);
    document.getElementById("titre-groupe").textContent = "";
    if (!group) { return; }
    var label = "";
    list.forEach(function (g) { if (g.id === group) { label = g.label; } });
    document.getElementById("titre-groupe").textContent = label;
    var list2 = members();
    if (list2.length === 0) { kidsRoot.appendChild(el("p", { "class": "vide" }, "Aucun enfant inscrit.")); }
    list2.forEach(function (c) {
      var st = stateOf(c);
      var b = el("button", { type: "button", "class": "enfant", id: "enfant-" + c.person_id, "data-etat": pending[c.person_id] ? "envoi" : st.etat });
      b.appendChild(el("span", { "class": "nom" }, P.name(c)));
      b.appendChild(el("span", { "class": "classe" }, c["class"] || ""));
      b.appendChild(el("span", { "class": "etat-enfant" }, pending[c.person_id] ? "Enregistrement…" : st.text));
      b.addEventListener("click", function () { tap(c, b); });
      kidsRoot.appendChild(b);
    });
  }

  function tap(c, b) {
    if (pending[c.person_id]) { return; }
    var st = stateOf(c);
    if (st.service === "canteen" && st.etat === "present") {
      say(P.name(c) + " est déjà pointé(e) à la cantine (" + st.text.toLowerCase() + ").", false);
      return;
    }
    var now = P.serverNow();
    var out = st.dir === "out";
    var stateText = b.querySelector(".etat-enfant");
    // At once: the new state, marked as being recorded.
    pending[c.person_id] = true;
    b.setAttribute("data-etat", "envoi");
    stateText.textContent = (out ? "Départ" : (st.service === "canteen" ? "Servi" : "Arrivée")) + " — enregistrement…";
    P.api("POST", "/api/v1/corrections", { kind: "add_scan", site: site, person_id: c.person_id, service: st.service,
      dir: out ? "out" : "in", at: now.toISOString(), reason: "appel sur tablette" }).then(function (saved) {
      delete pending[c.person_id];
      var at = saved && saved.at ? P.frDateTime(saved.at, data.timezone).slice(-5) : "";
      b.setAttribute("data-etat", out ? "parti" : "present");
      stateText.textContent = "✓ " + (out ? "Départ" : (st.service === "canteen" ? "Servi" : "Arrivée")) + " enregistré";
      say(P.name(c) + " : " + (out ? "départ" : (st.service === "canteen" ? "passage à la cantine" : "arrivée")) + " enregistré" + (at ? " à " + at : "") + ".", false);
      load();
    }).catch(function (err) {
      delete pending[c.person_id];
      b.setAttribute("data-etat", "erreur");
      stateText.textContent = "Échec : non enregistré";
      say("Échec pour " + P.name(c) + " : " + P.explain(err) + ". Touchez de nouveau pour réessayer.", true);
    });
  }

  var load = P.serial(function () {
    if (!site) { return; }
    var q = "?site=" + encodeURIComponent(site);
    return Promise.all([P.api("GET", "/api/v1/people" + q), P.api("GET", "/api/v1/school" + q)]).then(function (r) {
      people = r[0]; data = r[1];
      P.syncClock(data.now);
      P.pageError("");
      render();
    }).catch(function (err) { P.pageError("Données indisponibles : " + P.explain(err)); });
  });

  P.sitePicker(function (s) {
    site = s;
    P.clear(groupsRoot); P.clear(kidsRoot);
    if (!site) { P.pageError("Choisissez une école."); return; }
    P.pageError("");
    load();
    P.stream(site, function () { load(); });
  });
})();
