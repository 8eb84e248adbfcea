// tocsin pages: the situation map (Leaflet) and the series chart (uPlot).
// No inline script anywhere: each widget reads its data URL from a data- attribute.
(function () {
  "use strict";
  var COLOURS = { 1: "#d7191c", 2: "#f48c06", 3: "#f2d22e", 4: "#2c7bb6" };

  function drawMap(el) {
    var map = L.map(el, { attributionControl: false, zoomSnap: 0.25 });
    var layer = null;
    // Fetched when drawn, and again after each refresh of the situation (the colours
    // follow the open alerts; the view the user chose stays).
    el.reload = load;
    load();
    function load() {
      fetch(el.dataset.geojsonUrl, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (layer) {
            layer.clearLayers();
            layer.addData(data);
            el.dataset.reloaded = String(Number(el.dataset.reloaded || 0) + 1);
            return;
          }
          layer = L.geoJSON(data, {
            style: function (f) {
              var level = f.properties.level;
              return {
                color: "#455", weight: 0.8, fillOpacity: level ? 0.85 : 0.5,
                fillColor: level ? COLOURS[level] : "#d9e3d0",
                className: "jurisdiction level-" + (level || "none") + " code-" + f.properties.code
              };
            },
            onEachFeature: function (f, l) {
              // Names come from uploaded GeoJSON: a text node, never HTML (Leaflet would
              // parse a string as HTML).
              var label = document.createElement("span");
              label.textContent = f.properties.name + (f.properties.level ? " — " + ["", "I", "II", "III", "IV"][f.properties.level] : "");
              l.bindTooltip(label);
              l.on("click", function () { window.location = f.properties.url; });
              // Leaflet makes the district focusable; Enter opens it, as a click does.
              l.on("add", function () {
                var path = l.getElement && l.getElement();
                if (!path) return;
                path.setAttribute("role", "link");
                path.setAttribute("aria-label", label.textContent);
                path.addEventListener("keydown", function (e) {
                  if (e.key === "Enter") { window.location = f.properties.url; }
                });
              });
            }
          }).addTo(map);
          if (data.features.length) { map.fitBounds(layer.getBounds(), { padding: [8, 8] }); }
          else { map.setView([50, 10], 5); }
          el.dataset.ready = "1";
        });
    }
  }

  // Line colours of the detectors on one chart: [expected, upper bound] per detector.
  var DETECTOR_COLOURS = [["#2c7bb6", "#f48c06"], ["#6a3d9a", "#b15928"], ["#1b7837", "#c51b7d"],
                          ["#35978f", "#8c510a"]];

  // One expected / upper-bound pair and one set of alarm dots per detector (a series
  // can have several: each alarm sits on its own method's bound, never on another's).
  function drawChart(el) {
    var names = JSON.parse(el.dataset.detectors || "{}");
    fetch(el.dataset.seriesUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        var labels = s.observations.map(function (p) { return p.period; });
        var index = {}; labels.forEach(function (l, i) { index[l] = i; });
        var n = labels.length, x = [], obs = [];
        for (var i = 0; i < n; i++) { x.push(i); obs.push(s.observations[i].value); }
        function empty() { return labels.map(function () { return null; }); }
        var detectors = {}, order = [];
        s.signals.forEach(function (g) {
          var i = index[g.period]; if (i === undefined) return;
          var d = detectors[g.detector_id];
          if (!d) {
            d = detectors[g.detector_id] = {
              name: names[g.detector_id] || g.method, exp: empty(), ub: empty(), alarm: empty()
            };
            order.push(g.detector_id);
          }
          if (g.expected !== null) d.exp[i] = g.expected;
          if (g.upperbound !== null) d.ub[i] = g.upperbound;
          if (g.alarm) d.alarm[i] = g.observed !== null ? g.observed : obs[i];
        });
        order.sort(function (a, b) { return detectors[a].name < detectors[b].name ? -1 : 1; });
        var series = [
          { label: el.dataset.periodLabel || "period", value: function (u, v) { return v === null ? "" : labels[v]; } },
          { label: el.dataset.observedLabel || "observed", stroke: "#1d2329", width: 1.5 }
        ];
        var data = [x, obs], alarms = 0;
        order.forEach(function (id, k) {
          var d = detectors[id], colour = DETECTOR_COLOURS[k % DETECTOR_COLOURS.length];
          var suffix = " · " + d.name;
          series.push(
            { label: (el.dataset.expectedLabel || "expected") + suffix, stroke: colour[0], dash: [4, 4] },
            { label: (el.dataset.upperLabel || "upper bound") + suffix, stroke: colour[1] },
            { label: (el.dataset.alarmLabel || "alarm") + suffix, stroke: "#d7191c", width: 0,
              points: { show: true, size: 9 + 3 * k, fill: colour[1], stroke: "#d7191c", width: 2 } }
          );
          data.push(d.exp, d.ub, d.alarm);
          alarms += d.alarm.filter(function (v) { return v !== null; }).length;
        });
        var opts = {
          width: el.clientWidth || 900, height: 380,
          scales: { x: { time: false } },
          // Whole periods only, far enough apart for a label such as 2008-W07 not to
          // overlap its neighbour (uPlot's default spacing is for numbers).
          axes: [{ space: 90, incrs: [1, 2, 4, 5, 10, 13, 26, 52, 104, 260, 520],
                   values: function (u, ticks) { return ticks.map(function (t) { return labels[t] || ""; }); } }, {}],
          series: series
        };
        el.uplot = new uPlot(opts, data, el);
        el.dataset.ready = "1";
        el.dataset.alarms = String(alarms);
      });
  }

  // Forms that post: sent with fetch, so that a refusal answered with the bare error
  // page (409, 422, 404 ...) shows its message on the form and keeps what was typed.
  // A full page in answer (the form re-rendered with its own errors, a redirect after
  // success) replaces the document as a plain submission would. Without JavaScript the
  // forms post as usual.
  function showFormError(form, message) {
    var slot = form.querySelector("[data-form-error]");
    if (!slot) {
      slot = document.createElement("p");
      slot.className = "error";
      slot.setAttribute("role", "alert");
      slot.setAttribute("data-form-error", "");
      slot.tabIndex = -1;
      form.insertBefore(slot, form.firstChild);
    }
    slot.textContent = message;
    slot.focus();
  }

  function replaceDocument(html) {
    document.open();
    document.write(html);
    document.close();
  }

  function sendForm(event) {
    var form = event.target;
    // Attributes, not properties: a field named "action" or "method" shadows the latter.
    if (!(form instanceof HTMLFormElement) ||
        (form.getAttribute("method") || "").toLowerCase() !== "post" ||
        form.hasAttribute("data-native") || event.defaultPrevented) { return; }
    event.preventDefault();
    var submitter = event.submitter || null;
    var target = (submitter && submitter.getAttribute("formaction")) || form.getAttribute("action");
    var action = new URL(target || window.location.href, window.location.href).href;
    var body = new FormData(form, submitter);
    if (submitter) { submitter.disabled = true; }
    fetch(action, { method: "POST", body: body, credentials: "same-origin",
                    headers: { "Accept": "text/html" } })
      .then(function (response) {
        return response.text().then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var bare = doc.getElementById("error-detail");
          if (!response.ok && bare) { showFormError(form, bare.textContent.trim()); return; }
          if (response.redirected) {
            // A refusal sent back as "/page?error=..." (the administration page's way).
            var refused = new URL(response.url).searchParams.get("error");
            if (refused) { showFormError(form, refused); return; }
            window.location.assign(response.url);
            return;
          }
          replaceDocument(html);
        });
      })
      .catch(function () {
        showFormError(form, document.body.dataset.networkError || "The server could not be reached; try again.");
      })
      .finally(function () { if (submitter) { submitter.disabled = false; } });
  }

  document.addEventListener("submit", sendForm);

  // The situation refreshes itself: htmx polls #situation-live every minute (and when
  // the tab is shown again). No request while the tab is hidden, and none under a user
  // who has focus or a text selection inside it, or is typing in a field anywhere: the
  // next round tries again.
  function mayRefresh(el) {
    if (document.hidden) { return false; }
    var active = document.activeElement;
    if (active && active !== document.body && el.contains(active)) { return false; }
    if (active && (active.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName))) {
      return false;
    }
    var selection = window.getSelection ? window.getSelection() : null;
    return !(selection && !selection.isCollapsed && el.contains(selection.anchorNode));
  }

  function isLive(event) {
    var el = event.detail && event.detail.elt;
    return el && el.id === "situation-live" ? el : null;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var el = isLive(event);
    if (el && !mayRefresh(el)) { event.preventDefault(); }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var el = isLive(event);
    if (!el) { return; }
    // Signed out meanwhile: the answer is the sign-in page, not the fragment; reload
    // the page (which leads to the sign-in form) rather than nest one page in another.
    var url = event.detail.xhr && event.detail.xhr.responseURL;
    if (url && new URL(url).pathname !== "/situation/live") {
      event.detail.shouldSwap = false;
      window.location.reload();
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var el = isLive(event);
    var map = el && document.getElementById("map");
    if (map && map.reload) { map.reload(); }
    if (el) { el.dataset.refreshed = String(Number(el.dataset.refreshed || 0) + 1); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var map = document.getElementById("map"); if (map && window.L) drawMap(map);
    var chart = document.getElementById("chart"); if (chart && window.uPlot) drawChart(chart);
  });
})();
