(function () {
  "use strict";
  // Draws the heat map and the target sections from the page's JSON data (#report-data), one
  // page at a time; filters, groups, the CSV download. Values only ever become text nodes.
  var main = document.getElementById("report");
  var dataEl = document.getElementById("report-data");
  function ready() { document.body.setAttribute("data-ready", "1"); }
  if (!main || !dataEl) { ready(); return; }
  var D = JSON.parse(dataEl.textContent);
  var T = D.targets;
  var PAGE = Number(main.dataset.pageSize) || 50;
  var OPEN_UP_TO = Number(main.dataset.openUpTo) || 0;
  var FAIL = 0, UNKNOWN = 1;
  var state = { text: "", failing: false, production: false, group: "", groupLabel: "", pages: {} };

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) { return; }
      if (k === "text") { e.textContent = v; } else if (k === "cls") { e.className = v; } else { e.setAttribute(k, v === true ? "" : String(v)); }
    });
    (kids || []).forEach(function (kid) {
      if (kid !== null && kid !== undefined) { e.appendChild(typeof kid === "string" ? document.createTextNode(kid) : kid); }
    });
    return e;
  }
  function num(n) { return n.toLocaleString("en-US"); }
  function score(v) {  // as Python formats it: halves to even
    if (v === null || v === undefined) { return "n/a"; }
    var r = Math.round(v);
    if (Math.abs(v % 1) === 0.5 && r % 2) { r -= 1; }
    return r + "%";
  }
  function plural(word, n) { return n === 1 ? word : (/y$/.test(word) ? word.slice(0, -1) + "ies" : word + "s"); }
  var WORDS = { NotApplicable: "Not applicable" };
  function word(status) { return WORDS[status] || status; }

  T.forEach(function (t, i) {
    var counts = D.statuses.map(function () { return 0; });
    t.f.forEach(function (r) { counts[r[1]] = (counts[r[1]] || 0) + 1; });
    var sub = D.subs[t.s];
    t.i = i;
    t.counts = counts;
    t.needsWork = counts[FAIL] + counts[UNKNOWN] > 0;
    t.search = [t.n, t.id, sub[0], sub[1], t.g, t.l, D.kinds[t.k]].concat(Object.keys(t.t).map(function (k) {
      return k + "=" + t.t[k];
    })).join(" ").toLowerCase();
  });

  function inGroup(t, key) {
    var sub = D.subs[t.s][0].toLowerCase();
    if (key.indexOf("sub:") === 0) { return sub === key.slice(4); }
    if (key.indexOf("rg:") === 0) { return (sub + "/" + t.g.toLowerCase()) === key.slice(3); }
    if (key.indexOf("tag:") === 0) {
      var rest = key.slice(4), cut = rest.indexOf("=");
      return (t.t[rest.slice(0, cut)] || "") === rest.slice(cut + 1);
    }
    return true;
  }
  function matching() {
    var words = state.text.split(/\s+/).filter(Boolean);
    return T.filter(function (t) {
      if (state.failing && !t.needsWork) { return false; }
      if (state.production && !t.p) { return false; }
      if (state.group && !inGroup(t, state.group)) { return false; }
      return words.every(function (w) { return t.search.indexOf(w) !== -1; });
    });
  }
  function filtered() { return Boolean(state.text || state.failing || state.production || state.group); }

  // ------------------------------------------------------------------ paging
  function pageOf(name, total) {
    var pages = Math.max(1, Math.ceil(total / PAGE));
    var p = Math.min(Math.max(0, state.pages[name] || 0), pages - 1);
    state.pages[name] = p;
    return { start: p * PAGE, end: Math.min(total, (p + 1) * PAGE), pages: pages, page: p };
  }
  function range(pg, total, noun) {
    var all = T.length;
    var what = total === 1 ? noun : plural(noun, total);
    var text = (pg.pages > 1 ? num(pg.start + 1) + "–" + num(pg.end) + " of " : "") + num(total) + " " + what;
    if (filtered()) { text += " matching (" + num(all) + " in all)"; }
    return text;
  }
  function wireNav(nav, name, total, noun, redraw) {
    var pg = pageOf(name, total);
    nav.hidden = pg.pages <= 1;
    nav.querySelector("[data-page-info]").textContent = range(pg, total, noun) + " · page " + (pg.page + 1) + " of " + pg.pages;
    nav.querySelector("[data-prev]").disabled = pg.page === 0;
    nav.querySelector("[data-next]").disabled = pg.page >= pg.pages - 1;
    nav.querySelector("[data-prev]").onclick = function () { state.pages[name] = pg.page - 1; redraw(); };
    nav.querySelector("[data-next]").onclick = function () { state.pages[name] = pg.page + 1; redraw(); };
    return pg;
  }
  function navElement() {
    return el("nav", { cls: "nav" }, [
      el("button", { type: "button", "data-prev": true, text: "‹ previous" }), " ",
      el("span", { "data-page-info": true }), " ",
      el("button", { type: "button", "data-next": true, text: "next ›" }),
    ]);
  }

  // ------------------------------------------------------------------ heat map
  function statusByControl(t) {
    var m = {};
    t.f.forEach(function (r) { m[r[0]] = r[1]; });
    return m;
  }
  function heatTable(kind, cols, rows) {
    var topics = [];
    cols.forEach(function (c) {
      var topic = D.controls[c][2];
      if (!topics.length || topics[topics.length - 1].topic !== topic) { topics.push({ topic: topic, n: 0 }); }
      topics[topics.length - 1].n += 1;
    });
    var head1 = el("tr", {}, [
      el("th", { cls: "corner", rowspan: 2, text: D.kinds[kind] }),
      el("th", { cls: "corner sc", rowspan: 2, text: "score" }),
    ].concat(topics.map(function (g) {
      var name = D.topicsShort[g.topic];
      return el("th", { cls: "topic" + (g.n * 3 < name.length ? " v" : ""), colspan: g.n, title: D.topics[g.topic], scope: "colgroup" }, [el("span", { text: name })]);
    })));
    var first = {};
    var previous = null;
    cols.forEach(function (c) { if (D.controls[c][2] !== previous) { first[c] = true; previous = D.controls[c][2]; } });
    var head2 = el("tr", {}, cols.map(function (c) {
      var ctl = D.controls[c];
      return el("th", { cls: "ctl", scope: "col", title: ctl[0] + ": " + ctl[1] + " (" + D.severities[ctl[3]] + ")" }, [
        el("a", { href: "#c-" + ctl[0], text: ctl[0] }),
      ]);
    }));
    var body = el("tbody", {}, rows.map(function (t) {
      var m = statusByControl(t);
      return el("tr", { "data-target": t.i, "data-resource-id": t.id }, [
        el("th", { cls: "rowh", scope: "row" }, [el("a", { href: "#t-" + t.i, title: t.id, text: t.n }), t.p ? el("span", { cls: "prod", title: "production", text: "prod" }) : null]),
        el("td", { cls: "sc", text: score(t.sc) }),
      ].concat(cols.map(function (c) {
        var s = m[c];
        var ctl = D.controls[c][0];
        var edge = first[c] ? " t0" : "";
        if (s === undefined) { return el("td", { cls: "c x" + edge, title: t.n + " · " + ctl + ": not evaluated", text: "·" }); }
        return el("td", { cls: "c " + D.classes[s] + edge, "data-control": ctl, "data-status": D.statuses[s], title: t.n + " · " + ctl + ": " + word(D.statuses[s]), text: D.symbols[s] });
      })));
    }));
    return el("table", { cls: "heat", "data-kind": D.kinds[kind] }, [el("thead", {}, [head1, head2]), body]);
  }
  function drawHeat(list) {
    var host = document.getElementById("heat-tables");
    if (!host) { return; }
    host.textContent = "";
    D.kinds.forEach(function (kindName, kind) {
      var all = T.filter(function (t) { return t.k === kind; });
      if (!all.length) { return; }
      var rows = list.filter(function (t) { return t.k === kind; });
      var nav = navElement();
      var block = el("div", { cls: "heat-block", "data-kind": kindName }, [
        el("h3", { text: plural(kindName, 2).replace(/^./, function (c) { return c.toUpperCase(); }) + " " }, [
          el("span", { cls: "muted", text: "(" + (filtered() ? num(rows.length) + " of " : "") + num(all.length) + ")" }),
        ]),
      ]);
      var pg = wireNav(nav, "heat-" + kind, rows.length, kindName, function () { drawHeat(matching()); });
      if (rows.length) {
        block.appendChild(el("div", { cls: "scroll heatwrap" }, [heatTable(kind, D.columns[kind], rows.slice(pg.start, pg.end))]));
      } else {
        block.appendChild(el("p", { cls: "muted", text: "No " + plural(kindName, 2) + " match the filter." }));
      }
      block.appendChild(nav);
      host.appendChild(block);
    });
  }

  // ------------------------------------------------------------------ targets
  function evidence(index, pretty) {
    var value = D.evidence[index];
    if (!value || (typeof value === "object" && !Array.isArray(value) && !Object.keys(value).length)) {
      return el("span", { cls: "muted", text: "none" });
    }
    return el("pre", { cls: "ev", text: JSON.stringify(value, null, pretty ? 2 : 0) });
  }
  function fix(index) {
    return (D.fixes[index] || []).map(function (chunk) {
      return chunk[0] === "cmd" ? el("pre", { cls: "cmd" }, [el("code", { text: chunk[1] })]) : el("p", { text: chunk[1] });
    });
  }
  function findingsTable(t) {
    var rows = t.f.map(function (r) {
      var ctl = D.controls[r[0]], status = D.statuses[r[1]], cls = D.classes[r[1]] || "x";
      var act = r[1] === FAIL || r[1] === UNKNOWN;
      var sev = D.severities[r[2]] || "";
      return el("tr", { cls: "r-" + cls, "data-control": ctl[0], "data-status": status }, [
        el("td", { cls: "st", "data-label": "Status" }, [el("span", { cls: "cell " + cls, "aria-hidden": "true", text: D.symbols[r[1]] }), word(status)]),
        el("td", { cls: "sev sev-" + sev.toLowerCase(), "data-label": "Severity", text: sev }),
        el("td", { cls: "ctl", "data-label": "Control" }, [
          el("a", { href: "#c-" + ctl[0], text: ctl[0] }),
          act ? el("div", { cls: "muted", text: ctl[1] }) : null,
          act && ctl[4] ? el("div", { cls: "bench", text: ctl[4] }) : null,
        ]),
        el("td", { cls: "reason", "data-label": "Reason", text: D.text[r[3]] }),
        el("td", { cls: "ev", "data-label": "Evidence" }, [evidence(r[4], act || cls === "e")]),
        el("td", { cls: "fix", "data-label": act ? "Fix" : null }, act ? fix(r[5]) : []),
      ]);
    });
    return el("table", { cls: "findings" }, [
      el("thead", {}, [el("tr", {}, ["Status", "Severity", "Control", "Reason", "Evidence", "Fix"].map(function (h) {
        return el("th", { cls: h === "Evidence" ? "ev" : null, text: h });
      }))]),
      el("tbody", {}, rows),
    ]);
  }
  function targetSection(t, open) {
    var attrs = {
      cls: "target", id: "t-" + t.i, "data-resource-id": t.id, "data-name": t.n, "data-kind": D.kinds[t.k],
      "data-score": t.sc === null ? "" : t.sc.toFixed(1), "data-findings": t.f.length, "data-production": t.p,
    };
    D.statuses.forEach(function (s, i) { attrs["data-count-" + s.toLowerCase()] = t.counts[i]; });
    var pills = D.statuses.map(function (s, i) {
      return t.counts[i] ? el("span", { cls: "pill " + D.classes[i], text: D.symbols[i] + " " + t.counts[i] + " " + word(s) }) : null;
    });
    var sub = D.subs[t.s];
    var where = [
      sub[1] !== sub[0] ? "subscription " + sub[1] + " (" + sub[0] + ")" : "subscription " + sub[0],
      t.g ? "resource group " + t.g : "", t.l ? "location " + t.l : "", t.at ? "read " + t.at : "",
    ].filter(Boolean).join(" · ");
    var tags = Object.keys(t.t).sort().map(function (k) { return el("span", { text: k + ": " + t.t[k] }); });
    var details = el("details", { open: open }, [
      el("summary", {}, [
        el("span", { cls: "tname", text: t.n }), " ", el("span", { cls: "kind", text: D.kinds[t.k] }), " ",
        t.p ? el("span", { cls: "prod", text: "production" }) : null,
        el("span", { cls: "tscore", text: score(t.sc) }),
      ].concat(pills)),
      el("div", { cls: "meta" }, [el("code", { text: t.id }), el("div", { cls: "muted", text: where }), tags.length ? el("div", { cls: "tags" }, tags) : null]),
    ]);
    function fill() {
      if (details.open && !details.querySelector("table.findings")) {
        details.appendChild(t.f.length ? el("div", {}, [findingsTable(t)]) : el("p", { cls: "muted", text: "No findings." }));
      }
    }
    details.addEventListener("toggle", fill);
    fill();
    return el("section", attrs, [details]);
  }
  function drawTargets(list) {
    var host = document.getElementById("target-list");
    if (!host) { return; }
    host.textContent = "";
    var redraw = function () { drawTargets(matching()); };
    var pg = wireNav(document.querySelector("[data-nav=targets]"), "targets", list.length, "target", redraw);
    wireNav(document.querySelector("[data-nav=targets-bottom]"), "targets", list.length, "target", redraw);
    var open = T.length <= OPEN_UP_TO;
    list.slice(pg.start, pg.end).forEach(function (t) { host.appendChild(targetSection(t, open)); });
    if (!list.length) { host.appendChild(el("p", { cls: "muted", text: "No target matches the filter." })); }
  }

  // ------------------------------------------------------------------ groups
  function drawGroups() {
    var tabs = document.querySelector("#groups .tabs");
    var blocks = Array.prototype.slice.call(document.querySelectorAll(".grouping"));
    if (!tabs || !blocks.length) { return; }
    tabs.hidden = false;
    function select(key) {
      Array.prototype.forEach.call(tabs.querySelectorAll("button"), function (b) { b.setAttribute("aria-selected", String(b.dataset.tab === key)); });
      blocks.forEach(function (b) { var on = b.dataset.grouping === key; b.hidden = !on; b.classList.toggle("active", on); });
    }
    tabs.addEventListener("click", function (ev) { var b = ev.target.closest("button"); if (b) { select(b.dataset.tab); } });
    select(blocks[0].dataset.grouping);
    blocks.forEach(function (block) {
      var items = Array.prototype.slice.call(block.querySelectorAll("tr[data-item]"));
      var nav = block.querySelector(".nav");
      var SMALL = 10, page = 0, pages = Math.ceil(items.length / SMALL);
      function show() {
        items.forEach(function (it, i) { it.hidden = Math.floor(i / SMALL) !== page; });
        nav.hidden = pages <= 1;
        nav.querySelector("[data-page-info]").textContent = num(page * SMALL + 1) + "–" + num(Math.min(items.length, (page + 1) * SMALL)) + " of " + num(items.length) + " groups";
        nav.querySelector("[data-prev]").disabled = page === 0;
        nav.querySelector("[data-next]").disabled = page >= pages - 1;
      }
      nav.querySelector("[data-prev]").onclick = function () { page -= 1; show(); };
      nav.querySelector("[data-next]").onclick = function () { page += 1; show(); };
      show();
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-show]"), function (b) {
      b.hidden = false;
      b.addEventListener("click", function () {
        state.group = b.dataset.show;
        state.groupLabel = b.dataset.labelText;
        restart();
        document.getElementById("heatmap").scrollIntoView();
      });
    });
  }

  // ------------------------------------------------------------------ CSV
  var CSV_HEAD = ["ResourceName", "Kind", "ResourceId", "SubscriptionId", "SubscriptionName", "ResourceGroup", "Location",
    "Production", "Owner", "ControlId", "ControlTitle", "Topic", "Benchmarks", "Severity", "Status", "Reason", "Evidence", "Remediation",
    "SourceReadAt", "Tags"];
  function cell(value) {
    var s = value === null || value === undefined ? "" : String(value);
    if (/^[=+\-@\t\r]/.test(s)) { s = "'" + s; }  // a spreadsheet must not run a name as a formula
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function csv(list) {
    var lines = [CSV_HEAD.join(",")];
    list.forEach(function (t) {
      var sub = D.subs[t.s];
      var owner = t.t.owner || "";
      t.f.forEach(function (r) {
        var ctl = D.controls[r[0]];
        var ev = D.evidence[r[4]];
        lines.push([
          t.n, D.kinds[t.k], t.id, sub[0], sub[1] !== sub[0] ? sub[1] : "", t.g, t.l, t.p ? "yes" : "no", owner,
          ctl[0], ctl[1], D.topics[ctl[2]], ctl[4], D.severities[r[2]], D.statuses[r[1]], D.text[r[3]],
          ev && Object.keys(ev).length ? JSON.stringify(ev) : "",
          (D.fixes[r[5]] || []).map(function (c) { return c[1]; }).join("\n"),
          t.at, Object.keys(t.t).length ? JSON.stringify(t.t) : "",
        ].map(cell).join(","));
      });
    });
    return { text: "\ufeff" + lines.join("\r\n") + "\r\n", rows: lines.length - 1 };
  }
  var csvButton = document.getElementById("csv");
  function csvLabel(list) {
    var n = list.reduce(function (sum, t) { return sum + t.f.length; }, 0);
    csvButton.textContent = "Download CSV (" + num(n) + " " + plural("finding", n) + ")";
  }
  if (csvButton) {
    csvButton.addEventListener("click", function () {
      var out = csv(matching());
      var url = URL.createObjectURL(new Blob([out.text], { type: "text/csv;charset=utf-8" }));
      var a = el("a", { href: url, download: "aks-compliance-findings.csv", hidden: true });
      document.body.appendChild(a);
      a.click();
      a.remove();
      csvButton.dataset.rows = String(out.rows);
      setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
    });
  }

  // ------------------------------------------------------------------ wiring
  var shown = document.getElementById("shown-count");
  var chip = document.getElementById("group-chip");
  function renderAll() {
    var list = matching();
    drawHeat(list);
    drawTargets(list);
    if (shown) {
      shown.textContent = filtered() ? num(list.length) + " of " + num(T.length) + " " + plural("target", T.length) + " match" : num(T.length) + " " + plural("target", T.length);
    }
    if (chip) {
      chip.hidden = !state.group;
      chip.firstElementChild.textContent = state.groupLabel;
    }
    if (csvButton) { csvLabel(list); }
    main.setAttribute("data-matching", String(list.length));
  }
  function restart() { state.pages = {}; renderAll(); }
  function bind(id, event, apply) {
    var input = document.getElementById(id);
    if (input) { input.addEventListener(event, function () { apply(input); restart(); }); }
  }
  bind("filter", "input", function (i) { state.text = i.value.trim().toLowerCase(); });
  bind("failing-only", "change", function (i) { state.failing = i.checked; });
  bind("production-only", "change", function (i) { state.production = i.checked; });
  bind("group-clear", "click", function () { state.group = ""; state.groupLabel = ""; });
  Array.prototype.forEach.call(document.querySelectorAll("[data-expand]"), function (b) {
    b.hidden = false;
    b.addEventListener("click", function () {
      Array.prototype.forEach.call(document.querySelectorAll("section.target details"), function (d) { d.open = b.dataset.expand === "1"; });
    });
  });
  // A link to a target on another page or outside the filter: show it, open it, scroll to it.
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var m = /^t-(\d+)$/.exec(id);
    if (m && T[Number(m[1])]) {
      var t = T[Number(m[1])];
      var list = matching();
      if (list.indexOf(t) === -1) {
        state.text = ""; state.failing = false; state.production = false; state.group = ""; state.groupLabel = "";
        ["filter", "failing-only", "production-only"].forEach(function (f) {
          var input = document.getElementById(f);
          if (input) { input.value = ""; input.checked = false; }
        });
        list = matching();
      }
      state.pages.targets = Math.floor(list.indexOf(t) / PAGE);
      renderAll();
    }
    var target = id ? document.getElementById(id) : null;
    if (!target) { return; }
    var details = target.tagName === "DETAILS" ? target : target.querySelector("details");
    if (details) { details.open = true; }
    target.scrollIntoView();
  }
  window.addEventListener("hashchange", reveal);
  // Paper gets the findings of every target on the page, not only the open ones.
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("section.target details"), function (d) { d.open = true; });
  });
  var toolbar = document.getElementById("toolbar");
  if (toolbar) { toolbar.hidden = false; }
  drawGroups();
  renderAll();
  if (location.hash) { reveal(); }
  ready();
})();
