// School page (/ecole) and the helpers the roll-call (/appel) shares:
// window.pointage. Data from GET /api/v1/school, /people, /events and
// /corrections; live from /api/v1/stream; corrections posted with the
// session's CSRF token. Text only through textContent.
(function () {
  "use strict";
  var body = document.body;
  var P = window.pointage = {};
  var N = P.names = window.pointageNames; // names.js: sites' and diets' display names
  var csrf = body.getAttribute("data-csrf") || "";

  P.el = function (tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) { for (var k in attrs) { if (attrs[k] !== undefined && attrs[k] !== null) { e.setAttribute(k, attrs[k]); } } }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  };
  P.clear = function (e) { while (e.firstChild) { e.removeChild(e.firstChild); } return e; };
  // "2026-11-28" -> "28/11/2026"
  P.frDate = function (iso) {
    var p = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || "");
    return p ? p[3] + "/" + p[2] + "/" + p[1] : (iso || "");
  };
  // The API gives times in the hub's timezone with their offset
  // ("2026-11-28T15:10:00.000+11:00"): the local time is read as written,
  // whatever the browser's timezone.
  P.hm = function (iso) {
    var p = /T(\d{2}):(\d{2})/.exec(iso || "");
    return p ? p[1] + ":" + p[2] : "";
  };
  // A UTC instant (created_at) in the hub's timezone: "28/11/2026 15:10".
  P.frDateTime = function (iso, tz) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return iso || ""; }
    try {
      var s = d.toLocaleString("fr-FR", { timeZone: tz || undefined, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
      return s.replace(",", "");
    } catch (e) {
      return P.frDate(d.toISOString().slice(0, 10)) + " " + d.toISOString().slice(11, 16) + " UTC";
    }
  };
  P.duration = function (min) {
    min = Math.max(0, Math.floor(min || 0));
    var m = min % 60;
    return Math.floor(min / 60) + " h " + (m < 10 ? "0" : "") + m;
  };
  P.name = function (p) { return ((p.first_name || "") + " " + (p.last_name || "")).trim() || p.person_id || "?"; };
  P.sessionLabel = function (s) {
    var t = String(s || "").replace(/^garderie-/, "garderie ").replace(/-/g, " ");
    return t.charAt(0).toUpperCase() + t.slice(1);
  };
  // "28/11/2026" (or 28-11-2026, 28.11.2026) -> "2026-11-28"; "" if not a date.
  P.isoDate = function (fr) {
    var p = /^\s*(\d{1,2})[\/.-](\d{1,2})[\/.-](\d{4})\s*$/.exec(fr || "");
    if (!p) { return ""; }
    var d = new Date(Date.UTC(+p[3], +p[2] - 1, +p[1]));
    if (d.getUTCDate() !== +p[1] || d.getUTCMonth() !== +p[2] - 1) { return ""; }
    return d.toISOString().slice(0, 10);
  };
  // "2026-11-28" plus n days.
  P.addDays = function (iso, n) {
    var d = new Date(iso + "T12:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  };
  // "11:50", "11h50", "9:05" -> "11:50" / "09:05"; "" if not a time.
  P.hhmm = function (s) {
    var p = /^\s*(\d{1,2})\s*[:hH]\s*(\d{2})\s*$/.exec(s || "");
    if (!p || +p[1] > 23 || +p[2] > 59) { return ""; }
    return (p[1].length < 2 ? "0" : "") + p[1] + ":" + p[2];
  };
  // rosterSession: the sessions the roster's garderie column enrols in
  // (matin, soir); children of other configured sessions are not known
  // in advance.
  P.rosterSession = function (name) { return name === "garderie-matin" || name === "garderie-soir"; };
  P.param = function (k) { return new URLSearchParams(window.location.search).get(k) || ""; };
  P.setParam = function (k, v) {
    var q = new URLSearchParams(window.location.search);
    if (v) { q.set(k, v); } else { q.delete(k); }
    var s = q.toString();
    window.history.replaceState(null, "", window.location.pathname + (s ? "?" + s : ""));
  };

  // api calls the JSON API with the session cookie; a non-2xx answer
  // rejects with an Error carrying status and the API's message.
  P.api = function (method, path, payload) {
    var headers = { "Accept": "application/json", "X-Requested-With": "pointage" };
    var init = { method: method, credentials: "same-origin", headers: headers };
    if (method !== "GET") { headers["X-CSRF-Token"] = csrf; } // a DELETE has no body
    if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    return fetch(path, init).then(function (r) {
      if (r.status === 401) { window.location.assign("/connexion"); }
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var err = new Error(data && data.error ? data.error : "HTTP " + r.status);
          err.status = r.status;
          throw err;
        }
        return data;
      });
    }, function () {
      var err = new Error("le hub ne répond pas (réseau ?)");
      err.status = 0;
      throw err;
    });
  };

  // explain puts an API error in French words; the hub's own message
  // (English) follows when no better one is known.
  P.explain = function (err) {
    var m = String(err && err.message || err);
    if (err && err.status === 0) { return m; }
    if (/limited to site/.test(m)) { return "votre compte est limité à votre école"; }
    if (err && err.status === 403) { return "votre compte n'a pas ce droit (" + m + ")"; }
    if (err && err.status === 404) { return "école inconnue (" + m + ")"; }
    if (/reason:/.test(m)) { return "le motif est obligatoire (500 caractères au plus)"; }
    if (/person_id:/.test(m)) { return "choisissez un enfant ou un agent"; }
    if (/event_id:/.test(m)) { return "choisissez le passage à annuler"; }
    if (/\bat:/.test(m) || /parsing time/.test(m)) { return "indiquez une heure valide"; }
    if (/date:/.test(m)) { return "date invalide (jj/mm/aaaa)"; }
    return m;
  };

  // Server clock: the hub's "now" minus the browser's, so a tablet with a
  // wrong clock still dates a roll-call right.
  var clockOffset = 0;
  P.syncClock = function (iso) { var t = Date.parse(iso); if (!isNaN(t)) { clockOffset = t - Date.now(); } };
  P.serverNow = function () { return new Date(Date.now() + clockOffset); };

  P.live = function (on) {
    var e = document.getElementById("etat-direct");
    if (!e) { return; }
    e.textContent = on ? "en direct" : "connexion perdue, nouvel essai…";
    e.className = on ? "en-ligne" : "hors-ligne";
  };

  // stream calls onCounts(data) at every change of today's figures.
  var es = null;
  P.stream = function (site, onCounts) {
    if (es) { es.close(); es = null; }
    if (!window.EventSource || !site) { return; }
    es = new EventSource("/api/v1/stream?site=" + encodeURIComponent(site));
    es.addEventListener("open", function () { P.live(true); });
    es.addEventListener("counts", function (ev) {
      P.live(true);
      var data = null;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      onCounts(data);
    });
    es.addEventListener("error", function () {
      P.live(false);
      P.api("GET", "/api/v1/counts?site=" + encodeURIComponent(site)).catch(function () {});
    });
  };

  // sitePicker: a school user has its site; an office user picks one from
  // the sites of /api/v1/counts, kept in the URL (?site=).
  P.sitePicker = function (onSite) {
    var own = body.getAttribute("data-site") || "";
    if (own) { N.ready.then(function () { onSite(own); }); return; }
    var bloc = document.getElementById("choix-site-bloc");
    var sel = document.getElementById("choix-site");
    bloc.hidden = false;
    var wanted = P.param("site");
    N.ready.then(function () { return P.api("GET", "/api/v1/counts"); }).then(function (data) {
      (data.sites || []).forEach(function (s) {
        var o = P.el("option", { value: s.site }, N.siteName(s.site));
        sel.appendChild(o);
      });
      if (wanted) { sel.value = wanted; }
      onSite(sel.value);
    }).catch(function (err) { P.pageError("Liste des écoles indisponible : " + P.explain(err)); });
    sel.addEventListener("change", function () {
      P.setParam("site", sel.value);
      onSite(sel.value);
    });
  };

  P.pageError = function (msg) {
    var e = document.getElementById("erreur-page");
    if (!e) { return; }
    e.textContent = msg || "";
    e.hidden = !msg;
  };

  // debounce runs f at most once at a time; a call during a run queues one more.
  P.serial = function (f) {
    var running = false, again = false;
    function go() {
      if (running) { again = true; return; }
      running = true;
      Promise.resolve().then(f).catch(function () {}).then(function () {
        running = false;
        if (again) { again = false; go(); }
      });
    }
    return go;
  };

  if (body.getAttribute("data-page") === "ecole") { ecolePage(); }

  function ecolePage() {
    var el = P.el;
    var site = "", data = null, people = null, events = [], corrs = [];
    var dateInput = document.getElementById("choix-date");
    var contenu = document.getElementById("contenu");
    // shown is the day asked for (YYYY-MM-DD), "" for the hub's today.
    var shown = P.param("date");
    if (shown) { dateInput.value = P.frDate(shown); }

    var kindLabels = { meal: "repas", duplicate: "doublon", staff_meal: "repas agent", staff_meal_duplicate: "doublon repas agent",
      "in": "arrivée", out: "départ", garderie_duplicate: "doublon garderie", clock_in: "arrivée agent", clock_out: "départ agent",
      clock_duplicate: "doublon agent", unknown: "badge inconnu", ignored: "ignoré", voided: "annulé", other_day: "autre jour" };
    var serviceLabels = { canteen: "cantine", garderie: "garderie", staff: "agents" };
    var flagLabels = { missing_clock_out: "sortie non pointée", missing_clock_in: "arrivée non pointée", clock_out_correction_unused: "correction de sortie sans arrivée" };

    function cell(tr, text, cls) { var td = el("td", cls ? { "class": cls } : null, text); tr.appendChild(td); return td; }
    function emptyRow(tbody, cols, text) {
      var tr = el("tr"); var td = el("td", { colspan: String(cols), "class": "vide" }, text); tr.appendChild(td); tbody.appendChild(tr);
    }
    function fill(id, list, cols, emptyText, row) {
      var tb = P.clear(document.getElementById(id));
      if (!list || list.length === 0) { emptyRow(tb, cols, emptyText); return; }
      list.forEach(function (x) { tb.appendChild(row(x)); });
    }
    function setCount(id, n) { document.getElementById(id).textContent = "(" + n + ")"; }
    function personName(id) {
      var all = people ? (people.children || []).concat(people.staff || []) : [];
      for (var i = 0; i < all.length; i++) { if (all[i].person_id === id) { return P.name(all[i]); } }
      return id || "";
    }

    function render() {
      var c = data.canteen, k = (data.counts || {}).canteen || {};
      contenu.hidden = false;
      document.getElementById("titre-site").textContent = "— " + N.siteName(data.site);
      document.getElementById("date-jour").textContent = "Journée du " + P.frDate(data.date);
      document.getElementById("maj").textContent = "mis à jour à " + P.hm(data.now);
      if (document.activeElement !== dateInput) { dateInput.value = P.frDate(data.date); }
      var resume = "Repas servis : " + (k.meals || 0) + " sur " + (k.expected || 0) + " prévus · absents : " + (k.absent || 0) +
        " · non prévus : " + (k.unexpected || 0) + " · doublons : " + (k.duplicates || 0) + " · badges inconnus : " + (k.unknown_badges || 0) +
        " · repas agents : " + (k.staff_meals || 0) + " · agents présents : " + (((data.counts || {}).staff || {}).present || 0);
      if (data.closed) { resume = "École fermée ce jour (calendrier). " + resume; }
      document.getElementById("resume").textContent = resume;

      setCount("nb-servis", c.served.length);
      fill("servis", c.served, 5, "Aucun enfant servi.", function (s) {
        var tr = el("tr", { id: "servi-" + s.person_id });
        cell(tr, P.name(s)); cell(tr, s.class); cell(tr, N.dietLabel(s.regime));
        cell(tr, P.hm(s.first)); cell(tr, s.expected ? "prévu" : "occasionnel");
        return tr;
      });
      var declared = {};
      (c.declared_absent || []).forEach(function (p) { declared[p.person_id] = true; });
      var absents = c.absent.concat(c.declared_absent || []);
      setCount("nb-absents", absents.length);
      fill("absents", absents, 4, "Aucun absent.", function (p) {
        var tr = el("tr", { id: "absent-" + p.person_id });
        cell(tr, P.name(p)); cell(tr, p.class); cell(tr, N.dietLabel(p.regime)); cell(tr, declared[p.person_id] ? "oui" : "non");
        return tr;
      });
      setCount("nb-non-prevus", c.unexpected.length);
      fill("non-prevus", c.unexpected, 4, "Aucun repas occasionnel.", function (s) {
        var tr = el("tr"); cell(tr, P.name(s)); cell(tr, s.class); cell(tr, N.dietLabel(s.regime)); cell(tr, P.hm(s.first)); return tr;
      });
      setCount("nb-doublons", c.duplicates.length);
      fill("doublons", c.duplicates, 3, "Aucun doublon.", function (s) {
        var tr = el("tr"); cell(tr, P.name(s)); cell(tr, s["class"]); cell(tr, s.scans, "nb"); return tr;
      });
      setCount("nb-inconnus", data.unknown_badges.length);
      fill("inconnus", data.unknown_badges, 5, "Aucun badge inconnu.", function (u) {
        var tr = el("tr"); cell(tr, serviceLabels[u.service] || u.service); cell(tr, u.badge); cell(tr, u.scans, "nb");
        cell(tr, P.hm(u.first)); cell(tr, P.hm(u.last)); return tr;
      });
      renderGarderie();
      renderAlert();
      fill("agents", data.staff, 5, "Aucun pointage d'agent.", function (s) {
        var tr = el("tr", { id: "agent-" + s.person_id });
        cell(tr, P.name(s));
        cell(tr, s.shifts.map(function (x) { return (P.hm(x["in"]) || "?") + "–" + (P.hm(x.out) || "…") + (x.out_correction ? " (corrigé)" : ""); }).join(", "));
        cell(tr, P.duration(s.worked_minutes));
        cell(tr, s.present ? "présent" : "parti");
        var td = cell(tr, (s.flags || []).map(function (f) { return flagLabels[f] || f; }).join(", "));
        if ((s.flags || []).length) { td.className = "alerte-texte"; tr.className = "alerte"; }
        return tr;
      });
      renderForm();
      renderCorrections();
      renderPrint();
    }

    function renderGarderie() {
      var root = P.clear(document.getElementById("garderie"));
      data.garderie.forEach(function (g) {
        var sec = el("div", { "class": "session", id: "session-" + g.name });
        sec.appendChild(el("h3", null, P.sessionLabel(g.name) + " · " + g.start + "–" + g.end + (g.ended ? " (terminée)" : "")));
        var txt = g.present + " présent" + (g.present > 1 ? "s" : "") + " maintenant · " + g.children.length + " accueilli" + (g.children.length > 1 ? "s" : "");
        if (!g.auto_close) { txt += " · " + g.late + " en retard"; }
        sec.appendChild(el("p", { id: "resume-" + g.name }, txt));
        var t = el("table", { "class": "liste" });
        var th = el("thead"), hr = el("tr");
        ["Enfant", "Classe", "Arrivée", "Départ", "Durée", "État"].forEach(function (h) { hr.appendChild(el("th", { scope: "col" }, h)); });
        th.appendChild(hr); t.appendChild(th);
        var tb = el("tbody");
        if (g.children.length === 0) { emptyRow(tb, 6, "Aucun enfant."); }
        g.children.forEach(function (ch) {
          var tr = el("tr", { id: "garderie-" + g.name + "-" + ch.person_id });
          cell(tr, P.name(ch)); cell(tr, ch["class"]); cell(tr, P.hm(ch["in"]) || "—"); cell(tr, P.hm(ch.out) || "—");
          cell(tr, P.duration(ch.duration_minutes));
          var etat, cls;
          if (ch.present && g.ended && !g.auto_close) { etat = "ENCORE PRÉSENT après la fin"; cls = "etiquette alerte"; }
          else if (ch.present) { etat = ch.never_checked_out ? "jamais pointé au départ" : "présent"; cls = "etiquette present"; }
          else if (ch.late) { etat = "parti en retard"; cls = "etiquette retard"; }
          else { etat = ch.out_without_in ? "parti (arrivée non pointée)" : "parti"; cls = "etiquette"; }
          var td = el("td"); td.appendChild(el("span", { "class": cls }, etat)); tr.appendChild(td);
          tb.appendChild(tr);
        });
        t.appendChild(tb);
        sec.appendChild(t);
        root.appendChild(sec);
      });
    }

    // The fail-safe: after a session that is not auto_close has ended, the
    // children still checked in are named in a red banner.
    function renderAlert() {
      var box = P.clear(document.getElementById("alerte-fin"));
      var any = false;
      data.garderie.forEach(function (g) {
        var list = g.still_present || [];
        if (list.length === 0) { return; }
        if (!any) { box.appendChild(el("p", null)).appendChild(el("strong", null, "Alerte : enfant(s) encore présent(s) après la fin de la garderie")); }
        any = true;
        box.appendChild(el("p", null, P.sessionLabel(g.name) + ", terminée à " + g.end + " : " + list.length +
          (list.length > 1 ? " enfants toujours pointés présents." : " enfant toujours pointé présent.")));
        var ul = el("ul");
        list.forEach(function (p) { ul.appendChild(el("li", null, P.name(p) + (p["class"] ? " (" + p["class"] + ")" : ""))); });
        box.appendChild(ul);
      });
      if (any) { box.appendChild(el("p", null, "Vérifiez que chacun a bien été récupéré, puis enregistrez son départ (corrections ci-dessous).")); }
      box.hidden = !any;
    }

    function options(sel, list, blank) {
      var keep = sel.value;
      P.clear(sel);
      sel.appendChild(el("option", { value: "" }, blank));
      list.forEach(function (o) { sel.appendChild(el("option", { value: o[0] }, o[1])); });
      sel.value = keep;
      if (sel.value !== keep) { sel.value = ""; }
    }
    function renderForm() {
      var kids = (people.children || []).slice().sort(function (a, b) { return (a.last_name + a.first_name).localeCompare(b.last_name + b.first_name, "fr"); });
      options(document.getElementById("corr-enfant"), kids.map(function (p) { return [p.person_id, (p.last_name || "").toUpperCase() + " " + p.first_name + (p["class"] ? " (" + p["class"] + ")" : "")]; }), "— choisir un enfant —");
      options(document.getElementById("corr-agent"), (people.staff || []).map(function (p) { return [p.person_id, (p.last_name || "").toUpperCase() + " " + p.first_name]; }), "— choisir un agent —");
      options(document.getElementById("corr-passage"), events.filter(function (e) { return !e.correction && e.kind !== "voided"; }).map(function (e) {
        var who = e.person_id ? P.name(e) : "badge " + e.badge;
        return [e.id, P.hm(e.at) + " · " + (serviceLabels[e.service] || e.service) + " · " + who + " · " + (kindLabels[e.kind] || e.kind)];
      }), "— choisir un passage —");
      var heure = document.getElementById("corr-heure");
      if (!heure.value && !data.past) { heure.value = P.hm(data.now); }
    }
    function showFields() {
      var kind = document.getElementById("corr-type").value;
      var svc = document.getElementById("corr-service").value;
      Array.prototype.forEach.call(document.querySelectorAll("#form-correction [data-pour]"), function (e) {
        var show = e.getAttribute("data-pour").split(" ").indexOf(kind) >= 0;
        if (e.querySelector("#corr-sens") && svc !== "garderie") { show = false; }
        e.hidden = !show;
      });
    }
    var kindText = { add_scan: "passage ajouté", void_scan: "passage annulé", absence: "absence déclarée", close_clockout: "sortie d'agent close", declare_lost: "trou déclaré perdu" };
    function renderCorrections() {
      fill("corrections", corrs, 4, "Aucune correction ce jour.", function (c) {
        var tr = el("tr", { id: "correction-" + c.id });
        cell(tr, P.frDateTime(c.created_at, data.timezone)); cell(tr, c.user);
        var what = kindText[c.kind] || c.kind;
        if (c.person_id) { what += " — " + personName(c.person_id); }
        if (c.service) { what += " · " + (serviceLabels[c.service] || c.service) + (c.service === "garderie" ? (c.dir === "out" ? " (départ)" : " (arrivée)") : ""); }
        if (c.at) { what += " à " + P.frDateTime(c.at, data.timezone).slice(-5); }
        if (c.event_id) { what += " — passage " + c.event_id; }
        cell(tr, what); cell(tr, c.reason);
        return tr;
      });
    }

    // Paper lists for the day the network or a reader fails: the canteen's
    // expected children and each garderie's enrolled children, with boxes.
    function renderPrint() {
      var root = P.clear(document.getElementById("impression"));
      var kids = (people.children || []).slice();
      var declared = {};
      (data.canteen.declared_absent || []).forEach(function (p) { declared[p.person_id] = true; });
      function sheet(title, list, cols) {
        var sec = el("section");
        sec.appendChild(el("h2", null, title));
        sec.appendChild(el("p", null, N.schoolLabel(data.site) + " · " + P.frDate(data.date) + " · " + list.length + " enfant(s) · cochez à la main"));
        var t = el("table"), hr = el("tr"), th = el("thead");
        cols.forEach(function (c) { hr.appendChild(el("th", null, c)); });
        th.appendChild(hr); t.appendChild(th);
        var tb = el("tbody");
        list.forEach(function (p) {
          var tr = el("tr");
          cols.forEach(function (c) {
            if (c === "✓" || c === "Arrivée" || c === "Départ") { var td = el("td", { "class": "case" }); td.appendChild(el("span")); tr.appendChild(td); }
            else if (c === "Enfant") { cell(tr, (p.last_name || "").toUpperCase() + " " + p.first_name); }
            else if (c === "Classe") { cell(tr, p["class"]); }
            else if (c === "Régime") { cell(tr, N.dietLabel(p.regime)); }
            else if (c === "Remarque") { cell(tr, declared[p.person_id] ? "absence déclarée" : ""); }
            else { cell(tr, ""); }
          });
          tb.appendChild(tr);
        });
        t.appendChild(tb); sec.appendChild(t); root.appendChild(sec);
      }
      var canteen = kids.filter(function (p) { return p.canteen_today; });
      sheet("Cantine — liste d'appel", canteen, ["✓", "Enfant", "Classe", "Régime", "Remarque"]);
      data.garderie.forEach(function (g) {
        var enrolled = kids.filter(function (p) { return (p.garderie || []).indexOf(g.name) >= 0; });
        if (!P.rosterSession(g.name)) { enrolled = kids; } // a session the roster cannot enrol in: everyone
        sheet(P.sessionLabel(g.name) + " (" + g.start + "–" + g.end + ") — liste d'appel", enrolled, ["Arrivée", "Heure", "Enfant", "Classe", "Départ", "Heure "]);
      });
    }

    var load = P.serial(function () {
      if (!site) { return; }
      var q = "?site=" + encodeURIComponent(site) + (shown ? "&date=" + encodeURIComponent(shown) : "");
      return P.api("GET", "/api/v1/school" + q).then(function (d) {
        var dq = "?site=" + encodeURIComponent(site) + "&date=" + d.date;
        return Promise.all([
          P.api("GET", "/api/v1/people" + dq),
          P.api("GET", "/api/v1/events" + dq),
          P.api("GET", "/api/v1/corrections?site=" + encodeURIComponent(site) + "&from=" + d.date + "&to=" + d.date)
        ]).then(function (r) {
          data = d; people = r[0]; events = r[1].events || []; corrs = r[2].corrections || [];
          P.syncClock(d.now);
          P.pageError("");
          render();
        });
      }).catch(function (err) {
        P.pageError("Données indisponibles : " + P.explain(err));
      });
    });

    function chooseSite(s) {
      site = s;
      if (!site) {
        contenu.hidden = true;
        P.pageError("Choisissez une école.");
        return;
      }
      P.pageError("");
      load();
      P.stream(site, function (counts) {
        // Live: redraw when today's figures change and today is shown.
        if (data && counts.date === data.date) { load(); }
      });
    }

    function showDay(iso) {
      shown = iso;
      P.setParam("date", iso);
      document.getElementById("corr-heure").value = "";
      if (iso) { dateInput.value = P.frDate(iso); }
      load();
    }
    dateInput.addEventListener("change", function () {
      var iso = P.isoDate(dateInput.value);
      if (!iso) { P.pageError("Date invalide : écrivez-la jj/mm/aaaa, par exemple 28/11/2026."); return; }
      P.pageError("");
      showDay(iso);
    });
    document.getElementById("jour-precedent").addEventListener("click", function () { if (data) { showDay(P.addDays(data.date, -1)); } });
    document.getElementById("jour-suivant").addEventListener("click", function () { if (data) { showDay(P.addDays(data.date, 1)); } });
    document.getElementById("aujourdhui").addEventListener("click", function () { showDay(""); });
    document.getElementById("imprimer").addEventListener("click", function () { window.print(); });
    document.getElementById("corr-type").addEventListener("change", showFields);
    document.getElementById("corr-service").addEventListener("change", showFields);
    showFields();

    document.getElementById("form-correction").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var msg = document.getElementById("corr-message");
      msg.className = "";
      if (!data) { return; }
      var kind = document.getElementById("corr-type").value;
      var reason = document.getElementById("corr-motif").value.trim();
      var heure = P.hhmm(document.getElementById("corr-heure").value);
      var body = { kind: kind, site: data.site, day: data.date, reason: reason };
      var missing = "";
      if (kind === "add_scan" || kind === "absence") {
        body.person_id = document.getElementById("corr-enfant").value;
        if (!body.person_id) { missing = "choisissez un enfant"; }
      }
      if (kind === "add_scan") {
        body.service = document.getElementById("corr-service").value;
        body.dir = body.service === "garderie" ? document.getElementById("corr-sens").value : "in";
      }
      if (kind === "void_scan") {
        body.event_id = document.getElementById("corr-passage").value;
        if (!body.event_id) { missing = "choisissez le passage à annuler"; }
      }
      if (kind === "close_clockout") {
        body.person_id = document.getElementById("corr-agent").value;
        if (!body.person_id) { missing = "choisissez un agent"; }
      }
      if (kind === "add_scan" || kind === "close_clockout") {
        if (!heure) { missing = missing || "indiquez l'heure (hh:mm, par exemple 11:50)"; }
        body.at = data.date + "T" + heure + ":00" + data.offset;
      }
      if (!reason) { missing = missing || "le motif est obligatoire"; }
      if (missing) { msg.textContent = "Correction non envoyée : " + missing + "."; msg.className = "erreur"; return; }
      var button = document.getElementById("corr-valider");
      button.disabled = true;
      msg.textContent = "Envoi…";
      P.api("POST", "/api/v1/corrections", body).then(function () {
        msg.textContent = "Correction enregistrée.";
        msg.className = "message-ok";
        document.getElementById("corr-motif").value = "";
        load();
      }).catch(function (err) {
        msg.textContent = "Correction refusée par le hub : " + P.explain(err) + ".";
        msg.className = "erreur";
      }).then(function () { button.disabled = false; });
    });

    P.sitePicker(chooseSite);
  }
})();
