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
          if (el.dataset.indexUrl) { addIndexLayer(el, map, layer); }
          el.dataset.ready = "1";
        });
    }
  }

  // The composite risk index (INFORM-style, 0-10) as a second layer of the situation map:
  // a layer switch between it and the open alerts, each with its legend.
  var INDEX_COLOURS = { 1: "#ffffb2", 2: "#fecc5c", 3: "#fd8d3c", 4: "#f03b20", 5: "#bd0026" };

  function addIndexLayer(el, map, alerts) {
    fetch(el.dataset.indexUrl, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var index = L.geoJSON(data, {
          style: function (f) {
            var band = f.properties.band;
            return {
              color: "#455", weight: 0.8, fillOpacity: band ? 0.85 : 0.5,
              fillColor: band ? INDEX_COLOURS[band] : "#d9e3d0",
              className: "jurisdiction index-band-" + (band || "none") + " code-" + f.properties.code
            };
          },
          onEachFeature: function (f, l) {
            var label = document.createElement("span");
            label.textContent = f.properties.name + (f.properties.risk === null ? "" : " — " + f.properties.risk.toFixed(1));
            l.bindTooltip(label);
            l.on("click", function () { window.location = f.properties.url; });
          }
        });
        var layers = {};
        layers[el.dataset.alertsName] = alerts;
        layers[el.dataset.indexName] = index;
        L.control.layers(layers, null, { collapsed: false }).addTo(map);
        map.on("baselayerchange", function (e) {
          var showIndex = e.layer === index;
          var a = document.getElementById("legend-alerts");
          var i = document.getElementById("legend-index");
          if (a) { a.hidden = showIndex; }
          if (i) { i.hidden = !showIndex; }
          el.dataset.layer = showIndex ? "index" : "alerts";
        });
        el.dataset.layer = "alerts";
        el.dataset.indexReady = "1";
      });
  }

  // Line colours of the detectors on one chart: [expected, upper bound] per detector.
  var DETECTOR_COLOURS = [["#2c7bb6", "#f48c06"], ["#6a3d9a", "#b15928"], ["#1b7837", "#c51b7d"],
                          ["#35978f", "#8c510a"]];
  // Observed lines of the jurisdictions compared with the series (its own is black).
  var PLACE_COLOURS = ["#1d2329", "#009e73", "#cc79a7", "#7f3c8d", "#8c8c00", "#56b4e9",
                       "#a6761d", "#666666"];
  var RATE_PER = 100000;

  // Periods of several series in order: numbers (integer periods) by value, labels
  // (2008-W07, 2008-02, 2008-02-12) as text, which orders them in time.
  function periodOrder(a, b) {
    var na = Number(a), nb = Number(b);
    if (!isNaN(na) && !isNaN(nb)) return na - nb;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); });
  }

  // One observed line per jurisdiction drawn (the series and those compared with it);
  // one expected / upper-bound pair and one set of alarm dots per detector of the series
  // (each alarm sits on its own method's bound, never on another's). In the rate view
  // every number is divided by the population of its period (per 100,000).
  function drawChart(el) {
    var names = JSON.parse(el.dataset.detectors || "{}");
    var places = JSON.parse(el.dataset.compare || "[]");
    var rate = el.dataset.view === "rate";
    var urls = [el.dataset.seriesUrl].concat(places.slice(1).map(function (p) { return p.url; }));
    Promise.all(urls.map(getJson)).then(function (all) {
      var seen = {};
      all.forEach(function (s) { s.observations.forEach(function (p) { seen[p.period] = true; }); });
      var labels = Object.keys(seen).sort(periodOrder);
      var index = {}; labels.forEach(function (l, i) { index[l] = i; });
      var n = labels.length, x = [];
      for (var i = 0; i < n; i++) x.push(i);
      function empty() { return labels.map(function () { return null; }); }
      function per(value, people) {
        if (value === null || value === undefined) return null;
        if (!rate) return value;
        return people ? value / people * RATE_PER : null;
      }
      var main = all[0], people = empty(), obs = empty();
      main.observations.forEach(function (p) {
        people[index[p.period]] = p.population; obs[index[p.period]] = p.value;
      });
      var observedLabel = rate ? (el.dataset.rateLabel || "per 100,000") : (el.dataset.observedLabel || "observed");
      var series = [
        { label: el.dataset.periodLabel || "period", value: function (u, v) { return v === null ? "" : labels[v]; } }
      ];
      var data = [x], kinds = [];
      all.forEach(function (s, k) {
        var line = empty();
        s.observations.forEach(function (p) { line[index[p.period]] = per(p.value, p.population); });
        var suffix = places.length > 1 ? " · " + places[k].name : "";
        series.push({ label: observedLabel + suffix, stroke: PLACE_COLOURS[k % PLACE_COLOURS.length],
                      width: k === 0 ? 2 : 1.5 });
        data.push(line); kinds.push("number");
      });
      var detectors = {}, order = [];
      main.signals.forEach(function (g) {
        var i = index[g.period]; if (i === undefined) return;
        var d = detectors[g.detector_id];
        if (!d) {
          d = detectors[g.detector_id] = {
            name: names[g.detector_id] || g.method, exp: empty(), ub: empty(), alarm: empty()
          };
          order.push(g.detector_id);
        }
        if (g.expected !== null) d.exp[i] = per(g.expected, people[i]);
        if (g.upperbound !== null) d.ub[i] = per(g.upperbound, people[i]);
        if (g.alarm) d.alarm[i] = per(g.observed !== null ? g.observed : obs[i], people[i]);
      });
      order.sort(function (a, b) { return detectors[a].name < detectors[b].name ? -1 : 1; });
      var alarms = 0;
      order.forEach(function (id, k) {
        var d = detectors[id], colour = DETECTOR_COLOURS[k % DETECTOR_COLOURS.length];
        var suffix = " · " + d.name;
        series.push(
          { label: (el.dataset.expectedLabel || "expected") + suffix, stroke: colour[0], dash: [4, 4] },
          { label: (el.dataset.upperLabel || "upper bound") + suffix, stroke: colour[1] },
          { label: (el.dataset.alarmLabel || "alarm") + suffix, stroke: "#d7191c", width: 0,
            points: { show: true, size: 9 + 3 * k, fill: colour[1], stroke: "#d7191c", width: 2 } }
        );
        data.push(d.exp, d.ub, d.alarm); kinds.push("number", "number", "alarm");
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
      fillTable(el, labels, series, data, kinds, rate);
      el.dataset.periods = labels.length ? labels[0] + " – " + labels[labels.length - 1] : "";
      enablePng(el);
      el.dataset.ready = "1";
      el.dataset.alarms = String(alarms);
    });
  }

  function number(value, rate) {
    if (value === null || value === undefined) return "";
    if (rate) return value.toFixed(2);
    return Number.isInteger(value) ? String(value) : value.toFixed(2);
  }

  // The numbers the chart draws, as a table (WCAG 1.1.1: the same information as
  // text): a row per period, a column per line; an alarm column says where it alarmed.
  function fillTable(el, labels, series, data, kinds, rate) {
    var slot = document.getElementById("chart-table-body");
    if (!slot) return;
    var table = document.createElement("table");
    var caption = table.createCaption();
    caption.textContent = el.dataset.tableCaption || "";
    var head = table.createTHead().insertRow();
    series.forEach(function (s) {
      var th = document.createElement("th"); th.scope = "col"; th.textContent = s.label; head.appendChild(th);
    });
    var body = table.createTBody();
    labels.forEach(function (label, i) {
      var row = body.insertRow();
      var th = document.createElement("th"); th.scope = "row"; th.textContent = label; row.appendChild(th);
      for (var k = 1; k < data.length; k++) {
        var td = row.insertCell(), v = data[k][i];
        if (kinds[k - 1] === "alarm") {
          td.textContent = v === null ? "" : el.dataset.alarmLabel || "alarm";
        } else {
          td.className = "number"; td.textContent = number(v, rate);
        }
      }
    });
    slot.textContent = "";
    slot.appendChild(table);
  }

  // The chart as a PNG file, drawn in the browser: the title with the periods shown,
  // uPlot's canvas (lines and axes) and the legend (which uPlot keeps in HTML), on white.
  function enablePng(el) {
    var button = document.getElementById("chart-png");
    if (!button) return;
    button.hidden = false;
    button.onclick = function () {
      var u = el.uplot, plot = u.ctx.canvas, ratio = plot.width / (u.width || plot.width);
      var title = (document.getElementById("chart-title") || {}).textContent || "";
      var font = Math.round(13 * ratio) + "px sans-serif", line = Math.round(20 * ratio);
      var shown = u.series.slice(1);
      var canvas = document.createElement("canvas");
      canvas.width = plot.width;
      canvas.height = plot.height + line * (2 + shown.length);
      var ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.fillStyle = "#1d2329"; ctx.font = "bold " + font; ctx.textBaseline = "middle";
      ctx.fillText(title.trim() + (el.dataset.periods ? " · " + el.dataset.periods : ""), 8 * ratio, line * 0.75);
      ctx.drawImage(plot, 0, line * 1.5);
      ctx.font = font;
      shown.forEach(function (s, k) {
        var y = plot.height + line * (2 + k);
        var colour = typeof s.stroke === "function" ? s.stroke(u, k + 1) : s.stroke;
        ctx.fillStyle = (s.points && s.points.show && s.width === 0) ? "#d7191c" : colour || "#1d2329";
        ctx.fillRect(8 * ratio, y - 4 * ratio, 18 * ratio, 8 * ratio);
        ctx.fillStyle = "#1d2329";
        ctx.fillText(s.label, 32 * ratio, y);
      });
      canvas.toBlob(function (blob) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = el.dataset.pngName || "chart.png";
        document.body.appendChild(link);
        link.click();
        setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
      }, "image/png");
    };
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
