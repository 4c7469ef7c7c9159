// Pointage dashboard: the devices page (/appareils) and the red alerts of
// the overview. Devices come from GET /api/v1/devices, alerts from
// GET /api/v1/alerts; both are fetched again when the live stream says
// something changed (statuses included) and every 10 s besides (a session
// opening changes the alerts without any event). Text goes through
// textContent only.
(function () {
  "use strict";
  var body = document.body;
  var pageName = body.getAttribute("data-page");
  var site = body.getAttribute("data-site") || "";
  var role = body.getAttribute("data-role") || "";
  var csrf = body.getAttribute("data-csrf") || "";
  var N = window.pointageNames; // names.js: sites' display names
  var alertsRoot = document.getElementById("alertes");
  var devicesRoot = document.getElementById("appareils");
  if (!alertsRoot && !devicesRoot) { return; }
  var query = site ? "?site=" + encodeURIComponent(site) : "";
  var tz = "Pacific/Noumea"; // replaced by the hub's, from /api/v1/alerts
  // The hub's clock (the demo accelerates it): times are told "today" or
  // not against it, and "mis à jour à" is the hub's time of the answer.
  var hubNow = null;
  function hubTime(iso) { var d = new Date(iso); if (!isNaN(d.getTime())) { hubNow = d; } }
  var POLL_MS = 10000;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) { for (var k in attrs) { e.setAttribute(k, attrs[k]); } }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function parts(d) {
    var o = {};
    try {
      new Intl.DateTimeFormat("fr-FR", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
        .formatToParts(d).forEach(function (p) { o[p.type] = p.value; });
    } catch (e) {
      var pad = function (n) { return (n < 10 ? "0" : "") + n; };
      o = { day: pad(d.getDate()), month: pad(d.getMonth() + 1), year: String(d.getFullYear()), hour: pad(d.getHours()), minute: pad(d.getMinutes()) };
    }
    return o;
  }
  // An RFC 3339 time as "15:40" when it is today in the hub's timezone,
  // else "27/11/2026 15:40".
  function when(iso) {
    if (!iso) { return ""; }
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return String(iso); }
    var p = parts(d), t = parts(hubNow || new Date());
    var hm = p.hour + ":" + p.minute;
    if (p.day === t.day && p.month === t.month && p.year === t.year) { return hm; }
    return p.day + "/" + p.month + "/" + p.year + " " + hm;
  }
  function since(iso) {
    var w = when(iso);
    return w.indexOf("/") >= 0 ? "depuis le " + w : "depuis " + w;
  }
  function api(path, opts) {
    opts = opts || {};
    opts.credentials = "same-origin";
    opts.headers = opts.headers || {};
    opts.headers["Accept"] = "application/json";
    opts.headers["X-Requested-With"] = "pointage";
    return fetch(path, opts).then(function (r) {
      if (r.status === 401) { window.location.assign("/connexion"); throw new Error("session expirée"); }
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (!r.ok) { throw new Error(b.error || ("HTTP " + r.status)); }
        return b;
      });
    });
  }
  function sessionLabel(s) {
    if (s === "canteen") { return "le service de cantine"; }
    return "la " + s.replace(/^garderie-/, "garderie du ").replace(/-/g, " ");
  }

  // ---- alerts ----
  function alertText(a) {
    var span = a.start + "–" + a.end;
    if (a.kind === "backup_failed") {
      var w = when(a.since);
      return "La sauvegarde " + (w.indexOf("/") >= 0 ? "du " + w.replace(" ", " à ") : "de " + w) + " a échoué : " + a.detail;
    }
    if (a.kind === "device_offline") {
      return N.schoolLabel(a.site) + " : l'appareil " + a.device + " est hors ligne " + since(a.since) +
        ", pendant " + sessionLabel(a.session) + " (" + span + ").";
    }
    var t = N.schoolLabel(a.site) + " : le lecteur « " + a.reader + " » de l'appareil " + a.device +
      " est débranché, pendant " + sessionLabel(a.session) + " (" + span + ").";
    if (a.detail) { t += " Erreur : " + a.detail; }
    return t;
  }
  function renderAlerts(data) {
    if (data.timezone) { tz = data.timezone; }
    if (data.at) { hubTime(data.at); }
    if (!alertsRoot) { return; }
    alertsRoot.textContent = "";
    (data.alerts || []).forEach(function (a) {
      alertsRoot.appendChild(el("p", { "class": "alerte-rouge", "data-site": a.site, "data-device": a.device }, alertText(a)));
    });
  }
  function loadAlerts() {
    return api("/api/v1/alerts" + query).then(renderAlerts).catch(function (err) {
      if (alertsRoot) {
        alertsRoot.textContent = "";
        alertsRoot.appendChild(el("p", { "class": "erreur" }, "Alertes indisponibles : " + err.message));
      }
    });
  }

  // ---- devices ----
  var editing = 0, pending = false, hubVersion = "";

  function skew(ms) {
    var s = (Math.abs(ms) / 1000).toFixed(1).replace(".", ",");
    return (ms < 0 ? "−" : "+") + s + " s";
  }
  function row(tb, label, value, cls) {
    var tr = el("tr", cls ? { "class": cls } : null);
    tr.appendChild(el("th", { scope: "row" }, label));
    var td = el("td");
    if (value instanceof Node) { td.appendChild(value); } else { td.textContent = value; }
    tr.appendChild(td);
    tb.appendChild(tr);
    return td;
  }
  function lastScan(readers) {
    var best = null;
    (readers || []).forEach(function (r) {
      if (r.last_scan_at && (!best || new Date(r.last_scan_at) > new Date(best))) { best = r.last_scan_at; }
    });
    return best;
  }

  function gapItem(d, epoch, g, older) {
    var n = g.to - g.from + 1;
    var li = el("li", { "class": "trou", "data-device": d.device, "data-from": String(g.from), "data-to": String(g.to) });
    var txt = (g.from === g.to ? "n° " + g.from : "n° " + g.from + " à " + g.to) + " (" + n + (n > 1 ? " pointages)" : " pointage)");
    if (older) { txt += " — ancienne série " + String(epoch).slice(0, 8); }
    li.appendChild(el("span", null, txt));
    if (role !== "office") { return li; }
    var btn = el("button", { type: "button", "class": "declarer" }, "Déclarer perdu");
    btn.addEventListener("click", function () { openDeclare(li, d, epoch, g, n); });
    li.appendChild(btn);
    return li;
  }

  function openDeclare(li, d, epoch, g, n) {
    if (li.querySelector("form")) { return; }
    editing++;
    var form = el("form", { "class": "declarer-perdu", novalidate: "novalidate" }); // our own message, not the browser's
    var id = "motif-" + d.device + "-" + g.from;
    form.appendChild(el("label", { "for": id }, "Motif (obligatoire) :"));
    var input = el("input", { id: id, name: "motif", type: "text", required: "required", maxlength: "500", autocomplete: "off" });
    form.appendChild(input);
    form.appendChild(el("p", { "class": "avertissement" }, "Ces " + n + " pointage(s) de " + d.device +
      " ne seront plus attendus : l'appareil pourra les effacer. Cette déclaration est définitive et enregistrée à votre nom."));
    var ok = el("button", { type: "submit", "class": "confirmer" }, "Confirmer la perte");
    var cancel = el("button", { type: "button", "class": "annuler" }, "Annuler");
    form.appendChild(ok);
    form.appendChild(cancel);
    var err = el("p", { "class": "erreur", role: "alert" });
    form.appendChild(err);
    function close() {
      form.remove();
      editing = Math.max(0, editing - 1);
      if (pending) { pending = false; loadDevices(); }
    }
    cancel.addEventListener("click", close);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var reason = input.value.trim();
      if (!reason) { err.textContent = "Indiquez un motif."; input.focus(); return; }
      ok.disabled = true;
      api("/api/v1/corrections", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ kind: "declare_lost", site: d.site, device: d.device, epoch: epoch, from_seq: g.from, to_seq: g.to, reason: reason })
      }).then(function () {
        message("Pointages n° " + g.from + " à " + g.to + " de " + d.device + " déclarés perdus.");
        close();
        loadDevices();
      }).catch(function (e) {
        ok.disabled = false;
        err.textContent = "Refusé : " + e.message;
      });
    });
    li.appendChild(form);
    input.focus();
  }

  function message(t) {
    var m = document.getElementById("message");
    if (m) { m.textContent = t; }
  }

  function device(d) {
    var sec = el("section", { "class": "appareil", id: "appareil-" + d.device, "data-site": d.site });
    var h = el("h2");
    h.appendChild(el("span", null, d.device));
    h.appendChild(el("span", { "class": "site" }, " · " + N.schoolLabel(d.site)));
    sec.appendChild(h);
    if (role === "office") { adminDevice(sec, d); } // administration, below
    var st = el("p", { "class": "etat-appareil", id: "etat-" + d.device });
    if (d.state === "online") {
      st.className += " en-ligne";
      st.textContent = "En ligne (dernier état reçu à " + when(d.last_seen) + ")";
    } else if (d.state === "offline") {
      st.className += " hors-ligne";
      st.textContent = "Hors ligne " + since(d.last_seen);
    } else {
      st.className += " inconnu";
      st.textContent = "Aucun état reçu";
    }
    sec.appendChild(st);
    if (d.recovering) {
      // docs/DESIGN.md §13: the device holds acknowledged check-ins the hub
      // lacks (a restored backup); the hub has asked for them.
      sec.appendChild(el("p", { "class": "reprise attention", id: "reprise-" + d.device, role: "status" },
        "En reprise : " + d.recovery_missing + " pointage(s) déjà envoyés par l'appareil sont redemandés (hub restauré ou données perdues). " +
        "Ils seront comptés dès leur arrivée ; rien à faire si l'appareil reste en ligne."));
    }
    var t = el("table");
    var tb = el("tbody");
    var readers = d.readers || [];
    var ul = el("ul", { "class": "lecteurs", id: "lecteurs-" + d.device });
    if (readers.length === 0) { ul.appendChild(el("li", null, "aucun lecteur déclaré")); }
    readers.forEach(function (r) {
      var li = el("li", { "class": r.connected ? "branche" : "debranche", "data-lecteur": r.name });
      var txt = r.name + " : " + (r.connected ? "connecté" : "débranché");
      if (r.last_scan_at) { txt += ", dernier badge " + when(r.last_scan_at); }
      if (r.frames_rejected) { txt += ", " + r.frames_rejected + " trame(s) illisible(s)"; }
      if (r.last_error) { txt += " — " + r.last_error; }
      li.textContent = txt;
      ul.appendChild(li);
    });
    row(tb, "Lecteurs", ul);
    var pend = String(d.outbox_pending || 0);
    if (d.oldest_pending_at) { pend += " (le plus ancien " + when(d.oldest_pending_at) + ")"; }
    row(tb, "En attente d'envoi", pend, d.outbox_pending > 0 ? "attention" : "").id = "attente-" + d.device;
    if (d.outbox_error) { row(tb, "Erreur de stockage", d.outbox_error, "alerte"); }
    var gaps = el("ul", { "class": "trous", id: "trous-" + d.device });
    (d.missing || []).forEach(function (g) { gaps.appendChild(gapItem(d, d.epoch, g, false)); });
    (d.other_epochs || []).forEach(function (q) {
      (q.missing || []).forEach(function (g) { gaps.appendChild(gapItem(d, q.epoch, g, true)); });
    });
    if (!gaps.firstChild) { gaps.appendChild(el("li", { "class": "aucun" }, "aucun")); }
    row(tb, "Trous de séquence", gaps, gaps.querySelector(".trou") ? "attention" : "");
    row(tb, "Numéros", "dernier " + (d.last_seq || 0) + ", enregistrés jusqu'au " + (d.stored_through || 0));
    var clock = d.last_seen ? "décalage " + skew(d.clock_skew_ms || 0) + (d.clock_synced ? ", synchronisée" : ", non synchronisée") : "inconnue";
    row(tb, "Horloge", clock, d.last_seen && (!d.clock_synced || Math.abs(d.clock_skew_ms || 0) > 300000) ? "alerte" : "");
    var ls = lastScan(readers);
    row(tb, "Dernier pointage", ls ? when(ls) : "—");
    row(tb, "Dernier état reçu", d.last_seen ? when(d.last_seen) : "—");
    if (d.version) {
      var behind = d.version_behind && hubVersion;
      row(tb, "Version", behind ? d.version + " — à mettre à jour (le hub est en " + hubVersion + ")" : d.version,
        behind ? "attention" : "").id = "version-" + d.device;
    }
    row(tb, "Configuration", configState(d), d.hub_config_version && d.config_error_version === d.hub_config_version ? "alerte" :
      (d.hub_config_version && d.config_version !== d.hub_config_version ? "attention" : "")).id = "config-" + d.device;
    t.appendChild(tb);
    sec.appendChild(t);
    if (role === "office" && d.registered && adminRoot) { readersEditor(sec, d); }
    return sec;
  }

  // configState says which reader list the device runs (docs/DESIGN.md §14).
  function configState(d) {
    var v = d.hub_config_version || 0;
    if (!v) { return "lecteurs du fichier de l'appareil (aucune liste sur le hub)"; }
    if (d.config_error_version === v) { return "liste du hub refusée par l'appareil : " + (d.config_error || "raison inconnue") + " (il garde la précédente)"; }
    if (d.config_version === v) { return "liste du hub appliquée"; }
    return d.state === "online" ? "liste du hub envoyée, en attente de l'appareil…" : "liste du hub enregistrée : l'appareil l'appliquera à sa reconnexion";
  }

  function renderDevices(data) {
    if (data.hub_version) { hubVersion = data.hub_version; }
    var list = data.devices || [];
    devicesRoot.textContent = "";
    if (list.length === 0) {
      devicesRoot.appendChild(el("p", null, "Aucun appareil connu pour l'instant."));
    }
    list.forEach(function (d) { devicesRoot.appendChild(device(d)); });
    var maj = document.getElementById("maj");
    if (data.now) { hubTime(data.now); }
    if (maj && data.now) { maj.textContent = "mis à jour à " + when(data.now); }
  }

  function loadDevices() {
    if (!devicesRoot) { return Promise.resolve(); }
    if (editing > 0) { pending = true; return Promise.resolve(); } // do not wipe a reason being typed
    return api("/api/v1/devices" + query).then(function (data) {
      if (editing > 0) { pending = true; return; }
      renderDevices(data);
    }).catch(function (err) {
      devicesRoot.textContent = "";
      devicesRoot.appendChild(el("p", { "class": "erreur" }, "Appareils indisponibles : " + err.message));
    });
  }

  // ---- administration (office): register, new password, remove ----
  // POST /api/v1/devices, POST /api/v1/devices/{device}/password, DELETE
  // /api/v1/devices/{device} (docs/DESIGN.md §12). The password and the
  // enrolment code are shown once, in #identifiants; the controls exist in
  // the page for office users only (appareils.html).
  var adminRoot = document.getElementById("admin-appareils");

  // adminApi is api() keeping the status for the French messages.
  function adminApi(method, path, payload) {
    var init = { method: method, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-Requested-With": "pointage", "X-CSRF-Token": csrf } };
    if (payload !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    return fetch(path, init).then(function (r) {
      if (r.status === 401) { window.location.assign("/connexion"); }
      return r.json().catch(function () { return {}; }).then(function (b) {
        if (!r.ok) {
          var e = new Error(b.error || ("HTTP " + r.status));
          e.status = r.status;
          e.body = b;
          throw e;
        }
        return b;
      });
    }, function () {
      var e = new Error("le hub ne répond pas (réseau ?)");
      e.status = 0;
      throw e;
    });
  }

  // adminExplain puts the devices API's errors in French.
  function adminExplain(err) {
    var m = String(err && err.message || err);
    var site = /at site "([^"]+)"/.exec(m);
    if (err.status === 409) { return "Cet appareil existe déjà" + (site ? " (école " + site[1] + ")" : "") + " : choisissez un autre identifiant, ou donnez-lui un nouveau mot de passe."; }
    if (err.status === 404) { return "Cet appareil n'est pas enregistré (la liste est mise à jour)."; }
    if (err.status === 403) { return "Votre compte n'a pas ce droit."; }
    if (/^site: required/.test(m)) { return "Choisissez une école."; }
    if (/^site: /.test(m)) { return "Identifiant d'école refusé : minuscules sans accent, chiffres et tirets, sans espace (comme jules-ferry)."; }
    if (/^device: required/.test(m)) { return "Indiquez l'identifiant de l'appareil."; }
    if (/^device: /.test(m)) { return "Identifiant d'appareil refusé : minuscules sans accent, chiffres et tirets, sans espace (comme jf-cantine-2)."; }
    if (err.status === 0) { return "Le hub ne répond pas (réseau ?)."; }
    return "Erreur du hub : " + m;
  }
  function adminError(t) {
    var e = document.getElementById("admin-erreur");
    if (e) { e.textContent = t; }
    if (t) { message(""); }
  }

  // adminDevice adds a device's state in the registry and its buttons.
  function adminDevice(sec, d) {
    if (!adminRoot) { return; }
    if (!d.registered) {
      sec.appendChild(el("p", { "class": "non-enregistre", id: "non-enregistre-" + d.device }, "Non enregistré (retiré, ou jamais enregistré)"));
      return;
    }
    var p = el("p", { "class": "admin-boutons" });
    var pw = el("button", { type: "button", id: "mdp-" + d.device, "class": "nouveau-mdp" }, "Nouveau mot de passe");
    pw.addEventListener("click", function () {
      if (!window.confirm("Donner un nouveau mot de passe à l'appareil " + d.device + " (école " + d.site + ") ? " +
        "Il est déconnecté tout de suite et ne se reconnecte qu'avec le nouveau mot de passe ou le nouveau code d'enrôlement.")) { return; }
      adminError("");
      adminApi("POST", "/api/v1/devices/" + encodeURIComponent(d.device) + "/password", {}).then(function (c) {
        showCredentials(c);
        message("Nouveau mot de passe et nouveau code d'enrôlement pour " + d.device + ".");
        loadDevices();
      }, function (err) { adminError("Échec pour " + d.device + " : " + adminExplain(err)); loadDevices(); });
    });
    var rm = el("button", { type: "button", id: "retirer-" + d.device, "class": "retirer" }, "Retirer");
    rm.addEventListener("click", function () {
      if (!window.confirm("Retirer l'appareil " + d.device + " de l'école " + d.site + " ? " +
        "Il est déconnecté tout de suite et ne pourra plus se connecter. Ses pointages sont conservés.")) { return; }
      adminError("");
      adminApi("DELETE", "/api/v1/devices/" + encodeURIComponent(d.device)).then(function (b) {
        message("L'appareil " + d.device + " est retiré : il ne peut plus se connecter.");
        if (b && b.warning) { adminError(brokerWarning(b.warning)); }
        loadDevices();
      }, function (err) { adminError("Échec pour " + d.device + " : " + adminExplain(err)); loadDevices(); });
    });
    p.appendChild(pw);
    p.appendChild(document.createTextNode(" "));
    p.appendChild(rm);
    sec.appendChild(p);
  }

  // ---- reader lists (office): GET/PUT /api/v1/devices/{device}/config ----
  var SERVICES = [["canteen", "Cantine"], ["garderie", "Garderie"], ["staff", "Personnel"]];
  var DIRS = [["auto", "Automatique"], ["in", "Entrée"], ["out", "Sortie"]];

  function selectOf(id, options, value) {
    var s = el("select", { id: id });
    options.forEach(function (o) {
      var opt = el("option", { value: o[0] }, o[1]);
      if (o[0] === value) { opt.selected = true; }
      s.appendChild(opt);
    });
    return s;
  }

  // seconds reads a Go duration ("3s", "1.5s", "1500ms", "1m0s").
  function seconds(d) {
    var unit = { h: 3600, m: 60, s: 1, ms: 0.001, us: 0.000001, "µs": 0.000001, ns: 0.000000001 };
    var total = 0, re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g, m;
    while ((m = re.exec(d)) !== null) { total += parseFloat(m[1]) * unit[m[2]]; }
    return Math.round(total * 1000) / 1000;
  }

  // readerError puts PUT config's 400 in French: "readers[1].name: …".
  function readerError(err) {
    var m = String(err && err.message || err);
    var f = /^readers\[(\d+)\]\.(\w+): (.*)$/.exec(m);
    if (!f) {
      if (/^readers: \d+ readers/.test(m)) { return "16 lecteurs au plus par appareil."; }
      return adminExplain(err);
    }
    var n = "Lecteur " + (Number(f[1]) + 1) + " : ";
    switch (f[2]) {
      case "name": return n + (/used by two readers/.test(f[3]) ? "ce nom est déjà celui d'un autre lecteur." :
        "nom manquant ou refusé (lettres, chiffres, « - », « _ » ou « . », sans espace ni accent, ex. entree).");
      case "port": return n + "indiquez le port (ex. /dev/ttyUSB0, COM3, ou usb:VID:PID de la liste des ports de l'appareil).";
      case "profile": return n + "ce modèle de lecteur (profil) n'est pas connu de cet appareil.";
      case "service": return n + "choisissez Cantine, Garderie ou Personnel.";
      case "dir": return n + "choisissez Automatique, Entrée ou Sortie.";
      case "debounce": return n + "l'anti-rebond est une durée de 0 à 60 secondes.";
    }
    return n + f[3];
  }

  // readersEditor adds "Modifier les lecteurs" to a device's card: the
  // hub's list (or the device's own, to start from), the ports the device
  // reported and the profiles it knows; saved, the hub sends it at once.
  function readersEditor(sec, d) {
    var p = el("p", { "class": "lecteurs-boutons" });
    var open = el("button", { type: "button", id: "lecteurs-modifier-" + d.device }, "Modifier les lecteurs");
    p.appendChild(open);
    sec.appendChild(p);
    open.addEventListener("click", function () {
      if (sec.querySelector("form.editeur-lecteurs")) { return; }
      editing++;
      adminApi("GET", "/api/v1/devices/" + encodeURIComponent(d.device) + "/config").then(function (c) {
        var start = c.source === "hub" ? c.readers : (d.readers || []).map(function (r) {
          return { name: r.name, port: r.port, profile: r.profile, service: r.service || "canteen", dir: r.dir || "auto", debounce: r.debounce || "" };
        });
        buildEditor(sec, d, c, start);
      }, function (err) {
        editing = Math.max(0, editing - 1);
        adminError("Lecteurs de " + d.device + " : " + adminExplain(err));
      });
    });
  }

  function buildEditor(sec, d, c, start) {
    var form = el("form", { "class": "editeur-lecteurs", id: "editeur-" + d.device, novalidate: "novalidate" });
    form.appendChild(el("h3", null, "Lecteurs de " + d.device));
    form.appendChild(el("p", { "class": "aide" }, c.source === "hub" ?
      "Liste du hub (version " + c.version + "), appliquée par l'appareil sans redémarrage." :
      "L'appareil utilise les lecteurs de son fichier : une fois enregistrée ici, la liste du hub les remplace."));
    var ports = el("datalist", { id: "ports-" + d.device });
    (d.ports || []).forEach(function (pt) {
      if (pt.usb) { ports.appendChild(el("option", { value: pt.usb + (pt.serial ? ":" + pt.serial : "") }, pt.name + (pt.product ? " — " + pt.product : ""))); }
      ports.appendChild(el("option", { value: pt.name }, pt.product || pt.name));
    });
    form.appendChild(ports);
    if ((d.ports || []).length) {
      form.appendChild(el("p", { "class": "aide", id: "ports-vus-" + d.device }, "Ports vus par l'appareil : " +
        d.ports.map(function (pt) { return pt.name + (pt.usb ? " (" + pt.usb + (pt.product ? ", " + pt.product : "") + ")" : ""); }).join(", ") + "."));
    }
    var table = el("table", { "class": "lignes-lecteurs" });
    var head = el("tr");
    ["Nom", "Port", "Profil", "Service", "Sens", "Anti-rebond (s)", ""].forEach(function (h) { head.appendChild(el("th", { scope: "col" }, h)); });
    table.appendChild(head);
    var body = el("tbody");
    table.appendChild(body);
    form.appendChild(table);
    var count = 0;
    function addRow(r) {
      var i = count++;
      var tr = el("tr", { "class": "ligne-lecteur" });
      var id = function (f) { return "lecteur-" + d.device + "-" + i + "-" + f; };
      var cell = function (node, label) {
        node.setAttribute("aria-label", label);
        var td = el("td"); td.appendChild(node); tr.appendChild(td);
      };
      cell(el("input", { id: id("nom"), "class": "nom", value: r.name || "", maxlength: "64", autocomplete: "off", placeholder: "entree" }), "Nom du lecteur");
      cell(el("input", { id: id("port"), "class": "port", value: r.port || "", maxlength: "200", autocomplete: "off", list: "ports-" + d.device, placeholder: "/dev/ttyUSB0" }), "Port");
      cell(selectOf(id("profil"), (c.profiles || []).map(function (x) { return [x, x]; }), r.profile || "rdm6300"), "Profil");
      cell(selectOf(id("service"), SERVICES, r.service || "canteen"), "Service");
      cell(selectOf(id("sens"), DIRS, r.dir || "auto"), "Sens");
      var deb = r.debounce ? String(seconds(r.debounce)).replace(".", ",") : "";
      cell(el("input", { id: id("rebond"), "class": "rebond", value: deb, inputmode: "decimal", size: "4", placeholder: "3" }), "Anti-rebond en secondes");
      var rm = el("button", { type: "button", "class": "retirer-lecteur" }, "Retirer");
      rm.addEventListener("click", function () { tr.remove(); });
      var td = el("td"); td.appendChild(rm); tr.appendChild(td);
      body.appendChild(tr);
    }
    start.forEach(addRow);
    var add = el("button", { type: "button", id: "lecteur-ajouter-" + d.device }, "Ajouter un lecteur");
    add.addEventListener("click", function () { addRow({}); });
    form.appendChild(add);
    var ok = el("button", { type: "submit", id: "lecteurs-enregistrer-" + d.device }, "Enregistrer et envoyer");
    var cancel = el("button", { type: "button" }, "Annuler");
    var buttons = el("div", { "class": "boutons" });
    buttons.appendChild(ok); buttons.appendChild(document.createTextNode(" ")); buttons.appendChild(cancel);
    form.appendChild(buttons);
    var err = el("p", { "class": "erreur", role: "alert", id: "lecteurs-erreur-" + d.device });
    form.appendChild(err);
    function close() {
      form.remove();
      editing = Math.max(0, editing - 1);
      loadDevices();
    }
    cancel.addEventListener("click", close);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var readers = [];
      Array.prototype.forEach.call(body.querySelectorAll("tr.ligne-lecteur"), function (tr) {
        var q = function (sel) { return tr.querySelector(sel).value.trim(); };
        var r = { name: q("input.nom"), port: q("input.port"), profile: tr.querySelectorAll("select")[0].value,
          service: tr.querySelectorAll("select")[1].value, dir: tr.querySelectorAll("select")[2].value };
        var deb = q("input.rebond").replace(",", ".");
        if (deb !== "") { r.debounce = (isNaN(Number(deb)) ? deb : Number(deb) + "s"); }
        readers.push(r);
      });
      ok.disabled = true;
      err.textContent = "";
      adminApi("PUT", "/api/v1/devices/" + encodeURIComponent(d.device) + "/config", { readers: readers }).then(function (res) {
        message("Lecteurs de " + d.device + " enregistrés (version " + res.version + ") et envoyés à l'appareil" +
          (d.state === "online" ? "." : " : il les appliquera à sa reconnexion."));
        close();
      }, function (e) {
        ok.disabled = false;
        err.textContent = readerError(e);
      });
    });
    sec.appendChild(form);
    var first = form.querySelector("input");
    if (first) { first.focus(); }
  }

  function brokerWarning(w) {
    return "Attention : la modification est enregistrée, mais les fichiers du courtier mosquitto n'ont pas pu être écrits (" + w + ").";
  }

  // "2026-12-01T08:00:00Z" -> "01/12/2026 à 19:00" in the hub's timezone.
  function dayAndTime(iso) {
    var p = parts(new Date(iso));
    return p.day + "/" + p.month + "/" + p.year + " à " + p.hour + ":" + p.minute;
  }

  function showCredentials(c) {
    document.getElementById("identifiants-appareil").textContent = c.device + " (école " + c.site + ")";
    document.getElementById("identifiants-mdp").textContent = c.password;
    document.getElementById("identifiants-code").textContent = c.enrolment_code;
    document.getElementById("identifiants-validite").textContent = "Le code d'enrôlement se saisit sur l'appareil " +
      "(pointage-agent enrol) ; il sert une seule fois, jusqu'au " + dayAndTime(c.enrolment_code_expires_at) + ".";
    document.getElementById("identifiants-avertissement").textContent = c.warning ? brokerWarning(c.warning) : "";
    document.getElementById("identifiants-commande").textContent = c.enrol_command || "";
    drawQR(document.getElementById("identifiants-qr"), c.enrol_qr || []);
    var panel = document.getElementById("identifiants");
    panel.hidden = false;
    panel.scrollIntoView({ block: "nearest" });
  }
  // drawQR draws a QR code's rows ("0110…", from the hub) as an SVG: no
  // image is fetched or inlined (the page's Content-Security-Policy).
  function drawQR(box, rows) {
    box.textContent = "";
    if (!rows.length) { return; }
    var ns = "http://www.w3.org/2000/svg", n = rows.length;
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 " + n + " " + n);
    svg.setAttribute("width", String(n * 5));
    svg.setAttribute("height", String(n * 5));
    svg.setAttribute("shape-rendering", "crispEdges");
    var bg = document.createElementNS(ns, "rect");
    bg.setAttribute("width", String(n)); bg.setAttribute("height", String(n)); bg.setAttribute("fill", "#fff");
    svg.appendChild(bg);
    var d = "";
    rows.forEach(function (r, y) {
      for (var x = 0; x < r.length; x++) { if (r.charAt(x) === "1") { d += "M" + x + " " + y + "h1v1h-1z"; } }
    });
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", "#000");
    svg.appendChild(path);
    box.appendChild(svg);
  }
  function hideCredentials() {
    drawQR(document.getElementById("identifiants-qr"), []);
    ["identifiants-mdp", "identifiants-code", "identifiants-appareil", "identifiants-commande"].forEach(function (id) {
      document.getElementById(id).textContent = "";
    });
    document.getElementById("identifiants").hidden = true;
  }

  // copy puts a shown secret on the clipboard (navigator.clipboard needs
  // HTTPS or localhost; else the text is selected for Ctrl+C).
  function copy(button) {
    var code = document.getElementById(button.getAttribute("data-copier"));
    var text = code.textContent;
    var done = function (t) {
      button.textContent = t;
      setTimeout(function () { button.textContent = "Copier"; }, 2500);
    };
    var select = function () {
      var range = document.createRange();
      range.selectNodeContents(code);
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      done(ok ? "Copié" : "Sélectionné : Ctrl+C pour copier");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done("Copié"); }, select);
    } else {
      select();
    }
  }

  // The registration form: the school among the known ones (the sites of
  // GET /api/v1/counts and of the devices listed), or a new one.
  function fillSchools() {
    var sel = document.getElementById("enregistrer-ecole");
    var known = {};
    Array.prototype.forEach.call(document.querySelectorAll(".appareil[data-site]"), function (s) { known[s.getAttribute("data-site")] = true; });
    return api("/api/v1/counts").then(function (c) {
      (c.sites || []).forEach(function (s) { known[s.site] = true; });
    }, function () { /* the devices' sites only */ }).then(function () {
      var keep = sel.value;
      while (sel.options.length > 1) { sel.remove(1); }
      Object.keys(known).sort().forEach(function (s) { sel.appendChild(el("option", { value: s }, s)); });
      sel.appendChild(el("option", { value: "*autre*" }, "Autre école (nouvel identifiant)…"));
      sel.value = keep;
    });
  }

  function setupAdmin() {
    if (!adminRoot) { return; }
    var form = document.getElementById("enregistrer");
    var open = document.getElementById("enregistrer-ouvrir");
    var school = document.getElementById("enregistrer-ecole");
    var other = document.getElementById("enregistrer-autre-champ");
    var err = document.getElementById("enregistrer-erreur");
    open.addEventListener("click", function () {
      form.hidden = false;
      open.hidden = true;
      err.textContent = "";
      fillSchools();
      school.focus();
    });
    document.getElementById("enregistrer-annuler").addEventListener("click", function () {
      form.reset();
      other.hidden = true;
      form.hidden = true;
      open.hidden = false;
    });
    school.addEventListener("change", function () { other.hidden = school.value !== "*autre*"; });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var site = school.value === "*autre*" ? document.getElementById("enregistrer-autre").value.trim() : school.value;
      var device = document.getElementById("enregistrer-appareil").value.trim();
      var ok = document.getElementById("enregistrer-valider");
      ok.disabled = true;
      err.textContent = "";
      adminError("");
      adminApi("POST", "/api/v1/devices", { site: site, device: device }).then(function (c) {
        ok.disabled = false;
        showCredentials(c);
        message("L'appareil " + c.device + " est enregistré pour l'école " + c.site + ".");
        form.reset();
        other.hidden = true;
        form.hidden = true;
        open.hidden = false;
        loadDevices();
      }, function (e) {
        ok.disabled = false;
        err.textContent = adminExplain(e);
      });
    });
    document.getElementById("identifiants-fermer").addEventListener("click", hideCredentials);
    Array.prototype.forEach.call(adminRoot.querySelectorAll("button.copier"), function (b) {
      b.addEventListener("click", function () { copy(b); });
    });
  }
  setupAdmin();

  var timer = null;
  function refreshSoon() {
    if (timer) { return; }
    timer = setTimeout(function () {
      timer = null;
      N.ready.then(loadAlerts).then(loadDevices);
    }, 300);
  }


  // ---- the overview's backups line (office): GET/POST /api/v1/backup ----
  // The last scheduled backup (time, size), the next, or why it failed; a
  // failure is also a red alert (above).
  var backupLine = document.getElementById("sauvegarde-etat");
  function aDay(iso) { // "aujourd'hui à 02:00" or "le 02/12/2026 à 02:00"
    var w = when(iso);
    return w.indexOf("/") >= 0 ? "le " + w.replace(" ", " à ") : "aujourd'hui à " + w;
  }
  function megabytes(bytes) {
    if (bytes < 1e6) { return Math.max(1, Math.round(bytes / 1e3)) + " ko"; }
    var mo = bytes / 1e6;
    return (mo < 10 ? mo.toFixed(1) : Math.round(mo).toString()).replace(".", ",") + " Mo";
  }
  function renderBackup(st) {
    var button = document.getElementById("sauvegarder");
    if (st.timezone) { tz = st.timezone; }
    if (st.at) { hubTime(st.at); }
    backupLine.className = "";
    if (!st.configured) {
      backupLine.className = "non-configuree";
      backupLine.textContent = "Sauvegardes automatiques non configurées : sans elles, une panne du serveur fait perdre les données. " +
        "Faites lancer le hub avec --backup-dir vers un second disque ou un partage réseau (DEPLOY.md, « Sauvegardes »).";
      button.hidden = true;
      return;
    }
    var ok = st.last_success, kept = st.kept || 1;
    var t = ok ? "Dernière sauvegarde : " + aDay(ok.at) + ", " + megabytes(ok.size_bytes || 0) + " (" + kept + " gardée" + (kept > 1 ? "s" : "") + " sur " + st.keep + ")" :
      "Aucune sauvegarde réussie pour l'instant";
    if (st.last && st.last.error_fr) {
      backupLine.className = "echec";
      t += ". La dernière tentative (" + aDay(st.last.at) + ") a échoué : " + st.last.error_fr;
    } else if (st.next_at && !st.running) {
      t += ". Prochaine " + aDay(st.next_at) + ".";
    } else {
      t += ".";
    }
    if (st.running) { t += " Sauvegarde en cours…"; }
    backupLine.textContent = t;
    button.hidden = false;
    button.disabled = !!st.running;
  }
  function loadBackup() {
    return adminApi("GET", "/api/v1/backup").then(renderBackup, function (err) {
      backupLine.className = "echec";
      backupLine.textContent = "État des sauvegardes indisponible : " + err.message;
    });
  }
  if (backupLine) {
    var backupButton = document.getElementById("sauvegarder");
    var backupMessage = document.getElementById("sauvegarde-message");
    backupButton.addEventListener("click", function () {
      backupButton.disabled = true;
      backupMessage.textContent = "Sauvegarde en cours…";
      adminApi("POST", "/api/v1/backup").then(function (b) {
        backupMessage.textContent = "Sauvegarde faite : " + megabytes(b.size_bytes || 0) + ".";
      }, function (err) {
        backupMessage.textContent = err.status ? "" : "La sauvegarde n'a pas pu être demandée : " + err.message;
      }).then(function () {
        refreshSoon(); // the alerts
        return loadBackup();
      });
    });
    loadBackup();
    setInterval(loadBackup, 60000);
  }

  N.ready.then(loadAlerts).then(loadDevices);
  setInterval(refreshSoon, POLL_MS);
  // On the overview, app.js owns the stream and tells us of each update.
  document.addEventListener("pointage:counts", refreshSoon);
  if (pageName === "appareils" && window.EventSource) {
    var es = new EventSource("/api/v1/stream" + query);
    var live = function (on) {
      var e = document.getElementById("etat-direct");
      if (!e) { return; }
      e.textContent = on ? "en direct" : "connexion perdue, nouvel essai…";
      e.className = on ? "en-ligne" : "hors-ligne";
    };
    es.addEventListener("open", function () { live(true); });
    es.addEventListener("counts", function () { live(true); refreshSoon(); }); // sent on statuses too
    es.addEventListener("error", function () { live(false); });
  }
})();
