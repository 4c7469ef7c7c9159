// Roll-call (/appel) for a tablet: choose a class (canteen) or a garderie
// session, then tap a child: the tap is stored as a correction add_scan
// (reason "appel sur tablette", attributed by the hub to the logged-in
// user). The button changes at once and is confirmed by the API's answer.
// Every tap first goes to a queue kept in the tablet's localStorage, with
// its time and a client_id: without network (or with the hub away) it
// waits there, shown as "en attente", and is sent when the hub answers
// again (every 10 s, at the "online" event, at the next page load), in
// the order of the taps, with the time of the tap. The hub records a
// client_id once, so a tap sent twice (an answer lost) counts once.
// Uses the helpers of ecole.js (window.pointage).
(function () {
  "use strict";
  var P = window.pointage;
  var el = P.el;
  var site = "", people = null, data = null, group = P.param("groupe");
  var QUEUE_KEY = "pointage-appel-attente";
  var queue = readQueue(); // taps not yet recorded by the hub, oldest first
  var sending = false;
  var groupsRoot = document.getElementById("groupes");
  var kidsRoot = document.getElementById("enfants");
  var message = document.getElementById("appel-message");

  function say(text, isError) {
    message.textContent = text;
    message.className = "appel-message" + (isError ? " erreur" : " message-ok");
  }

  function readQueue() {
    try {
      var q = JSON.parse(window.localStorage.getItem(QUEUE_KEY) || "[]");
      // Only well-formed taps: a damaged entry must not break the page.
      return Array.isArray(q) ? q.filter(function (x) {
        return x && x.body && typeof x.body.site === "string" && typeof x.body.person_id === "string" &&
          typeof x.body.at === "string" && typeof x.name === "string";
      }) : [];
    } catch (e) { return []; }
  }

  function saveQueue() {
    try { window.localStorage.setItem(QUEUE_KEY, JSON.stringify(queue)); } catch (e) { /* private mode: the queue lives as long as the page */ }
  }

  function newClientID() {
    var b = new Uint8Array(12);
    window.crypto.getRandomValues(b); // unlike randomUUID, also over plain HTTP
    return "appel-" + Array.prototype.map.call(b, function (x) { return (x < 16 ? "0" : "") + x.toString(16); }).join("");
  }

  // queuedFor is the last tap still waiting for the hub for a child of
  // this site, or null.
  function queuedFor(c) {
    var last = null;
    queue.forEach(function (q) { if (q.body.site === site && q.body.person_id === c.person_id) { last = q; } });
    return last;
  }

  function tapTime(q) { return P.frDateTime(q.body.at, data && data.timezone).slice(-5); }

  function what(body) {
    return body.dir === "out" ? "départ" : (body.service === "canteen" ? "passage à la cantine" : "arrivée");
  }

  function groups() {
    var out = [], seen = {};
    (people.children || []).forEach(function (c) {
      var k = c["class"] || "";
      if (!seen[k]) { seen[k] = true; out.push({ id: "classe:" + k, label: "Cantine · " + (k || "sans classe") }); }
    });
    // In the order the API lists the children: classes in school order (PS, MS, GS, CP, CE1…).
    (data.garderie || []).forEach(function (g) { out.push({ id: "session:" + g.name, label: P.sessionLabel(g.name) + " (" + g.start + "–" + g.end + ")" }); });
    return out;
  }

  function session(name) {
    var list = data.garderie || [];
    for (var i = 0; i < list.length; i++) { if (list[i].name === name) { return list[i]; } }
    return null;
  }

  // state of a child in the chosen group: {etat, text, service, dir}; a
  // tap still waiting for the hub counts as done (its state shows it waits).
  function stateOf(c) {
    var q = queuedFor(c);
    if (q) {
      var text = "En attente du réseau : " + what(q.body) + " à " + tapTime(q);
      if (q.body.service === "canteen") { return { etat: "attente", text: text, service: "canteen", dir: "", waiting: true }; }
      return { etat: "attente", text: text, service: "garderie", dir: q.body.dir === "out" ? "in" : "out", waiting: true };
    }
    return recordedState(c);
  }

  function recordedState(c) {
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
    document.getElementById("titre-site").textContent = "— " + P.names.siteName(site);
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
      var inFlight = sending && queue.length > 0 && queue[0].body.site === site && queue[0].body.person_id === c.person_id;
      var b = el("button", { type: "button", "class": "enfant", id: "enfant-" + c.person_id, "data-etat": inFlight ? "envoi" : st.etat });
      b.appendChild(el("span", { "class": "nom" }, P.name(c)));
      b.appendChild(el("span", { "class": "classe" }, c["class"] || ""));
      b.appendChild(el("span", { "class": "etat-enfant" }, inFlight ? "Enregistrement…" : st.text));
      b.addEventListener("click", function () { tap(c, b); });
      kidsRoot.appendChild(b);
    });
  }

  function tap(c, b) {
    if (!data) { return; }
    var q = queuedFor(c);
    if (q && (q === queue[0] && sending || Date.parse(q.body.at) > P.serverNow().getTime() - 5000)) {
      return; // a double tap: the first one is being recorded, or was a moment ago
    }
    var st = stateOf(c);
    if (st.service === "canteen" && (st.etat === "present" || st.waiting)) {
      say(P.name(c) + " est déjà pointé(e) à la cantine (" + st.text.toLowerCase() + ").", false);
      return;
    }
    var out = st.dir === "out";
    queue.push({ name: P.name(c), body: { kind: "add_scan", site: site, day: data.date, person_id: c.person_id, service: st.service,
      dir: out ? "out" : "in", at: P.serverNow().toISOString(), reason: "appel sur tablette", client_id: newClientID() } });
    saveQueue();
    b.setAttribute("data-etat", "envoi");
    b.querySelector(".etat-enfant").textContent = (out ? "Départ" : (st.service === "canteen" ? "Servi" : "Arrivée")) + " — enregistrement…";
    flush();
  }

  // flush sends the waiting taps one after the other, oldest first, until
  // the queue is empty or the hub does not answer (they stay, and are sent
  // again later). A tap the hub refuses (a 4xx) is dropped and said.
  function flush() {
    if (sending || queue.length === 0) { return; }
    sending = true;
    var q = queue[0];
    P.api("POST", "/api/v1/corrections", q.body).then(function (saved) {
      sending = false;
      queue.shift();
      saveQueue();
      var at = saved && saved.at ? P.frDateTime(saved.at, data && data.timezone).slice(-5) : "";
      say(q.name + " : " + what(q.body) + " enregistré" + (at ? " à " + at : "") + ".", false);
      load();
      flush();
    }).catch(function (err) {
      sending = false;
      if (err.status === 0 || err.status >= 500 || err.status === 401) {
        var why = err.status === 0 ? "Pas de réseau vers le hub" : err.status === 401 ? "Session expirée" : "Le hub n'enregistre pas pour l'instant (" + P.explain(err) + ")";
        say(why + " : " + queue.length + " pointage(s) gardé(s) sur cette tablette, avec leur heure, envoyé(s) dès que possible (si la page est fermée : dès qu'elle est rouverte sur cette tablette).", true);
        if (data) { render(); }
        return;
      }
      queue.shift();
      saveQueue();
      say("Échec pour " + q.name + " (" + what(q.body) + " à " + tapTime(q) + ") : " + P.explain(err) + ". Non enregistré : touchez de nouveau pour réessayer.", true);
      if (data) { render(); }
      flush();
    });
  }

  window.setInterval(flush, 10000);
  window.addEventListener("online", flush);

  var load = P.serial(function () {
    if (!site) { return; }
    var q = "?site=" + encodeURIComponent(site);
    return Promise.all([P.api("GET", "/api/v1/people" + q), P.api("GET", "/api/v1/school" + q)]).then(function (r) {
      people = r[0]; data = r[1];
      P.syncClock(data.now);
      P.pageError("");
      render();
      flush();
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
