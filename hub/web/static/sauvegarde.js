// Pointage dashboard: the overview's backups line (office only): the last
// scheduled backup (time, size), the next, or why it failed, from
// GET /api/v1/backup; "Sauvegarder maintenant" is POST /api/v1/backup.
// A failed backup is also a red alert (appareils.js). Times are the hub's
// clock, in its time zone.
(function () {
  "use strict";
  var line = document.getElementById("sauvegarde-etat");
  var button = document.getElementById("sauvegarder");
  var message = document.getElementById("sauvegarde-message");
  if (!line) { return; }
  var csrf = document.body.getAttribute("data-csrf") || "";
  var tz = "Pacific/Noumea", hubNow = null, busy = false;
  var POLL_MS = 60000;

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
  // "aujourd'hui à 02:00", or "le 02/12/2026 à 02:00".
  function when(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return String(iso); }
    var p = parts(d), t = parts(hubNow || new Date());
    var hm = p.hour + ":" + p.minute;
    if (p.day === t.day && p.month === t.month && p.year === t.year) { return "aujourd'hui à " + hm; }
    return "le " + p.day + "/" + p.month + "/" + p.year + " à " + hm;
  }
  function size(bytes) {
    if (bytes < 1e6) { return Math.max(1, Math.round(bytes / 1e3)) + " ko"; }
    var mo = bytes / 1e6;
    return (mo < 10 ? mo.toFixed(1) : Math.round(mo).toString()).replace(".", ",") + " Mo";
  }
  function api(method) {
    return fetch("/api/v1/backup", {
      method: method, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-Requested-With": "pointage", "X-CSRF-Token": csrf }
    }).then(function (r) {
      if (r.status === 401) { window.location.assign("/connexion"); throw new Error("session expirée"); }
      return r.json().catch(function () { return {}; }).then(function (b) { return { ok: r.ok, status: r.status, body: b }; });
    });
  }

  function render(st) {
    if (st.timezone) { tz = st.timezone; }
    if (st.at) { hubNow = new Date(st.at); }
    line.className = "";
    if (!st.configured) {
      line.className = "non-configuree";
      line.textContent = "Sauvegardes automatiques non configurées : sans elles, une panne du serveur fait perdre les données. " +
        "Faites lancer le hub avec --backup-dir vers un second disque ou un partage réseau (DEPLOY.md, « Sauvegardes »).";
      button.hidden = true;
      return;
    }
    var t = "";
    var ok = st.last_success;
    if (ok) {
      t = "Dernière sauvegarde : " + when(ok.at) + ", " + size(ok.size_bytes || 0) + " (" + (st.kept || 1) + " gardée" + ((st.kept || 1) > 1 ? "s" : "") + " sur " + st.keep + ")";
    } else {
      t = "Aucune sauvegarde réussie pour l'instant";
    }
    if (st.last && st.last.error_fr) {
      line.className = "echec";
      t += ". La dernière tentative (" + when(st.last.at) + ") a échoué : " + st.last.error_fr;
    } else if (st.next_at && !st.running) {
      t += ". Prochaine " + when(st.next_at) + ".";
    } else {
      t += ".";
    }
    if (st.running) { t += " Sauvegarde en cours…"; }
    line.textContent = t;
    button.hidden = false;
    button.disabled = busy || !!st.running;
  }
  function load() {
    return api("GET").then(function (r) {
      if (!r.ok) { throw new Error(r.body.error || ("HTTP " + r.status)); }
      render(r.body);
    }).catch(function (err) {
      line.className = "echec";
      line.textContent = "État des sauvegardes indisponible : " + err.message;
    });
  }
  button.addEventListener("click", function () {
    busy = true;
    button.disabled = true;
    message.textContent = "Sauvegarde en cours…";
    api("POST").then(function (r) {
      if (r.ok) {
        message.textContent = "Sauvegarde faite : " + size(r.body.size_bytes || 0) + ".";
      } else {
        message.textContent = "";
        line.className = "echec";
        line.textContent = "La sauvegarde a échoué : " + (r.body.error_fr || r.body.error || ("HTTP " + r.status));
      }
    }).catch(function (err) {
      message.textContent = "La sauvegarde n'a pas pu être demandée : " + err.message;
    }).then(function () {
      busy = false;
      document.dispatchEvent(new CustomEvent("pointage:backup")); // the alerts (appareils.js)
      return load();
    });
  });
  load();
  setInterval(load, POLL_MS);
})();
