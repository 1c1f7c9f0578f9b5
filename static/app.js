"use strict";
// The clinician's screen. It talks to /api/{launch}/… with the launch id read
// from the page (never a cookie or sessionStorage: EHR tabs share those) and
// builds the page with DOM calls only: no innerHTML, no inline styles.
(function () {
  var launch = document.body.getAttribute("data-launch") || "";
  var apiBase = "/api/" + encodeURIComponent(launch);

  var state = {
    plan: null,   // recommend.Plan
    facts: null,  // recommend.Facts
    context: null,
    draft: null,  // draftView or null
    chosen: "",   // the option id the clinician chose
    choices: {},  // choice group → the drug chosen among the option's alternatives
    busy: false,
    refs: {}      // FHIR reference → what the record says, for the source list
  };

  function $(id) { return document.getElementById(id); }

  // el builds an element: el("p", {className: "x"}, "text", child, …).
  function el(tag, props) {
    var e = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        if (k === "className") { e.className = props[k]; }
        else if (k === "text") { e.textContent = props[k]; }
        else if (k.indexOf("on") === 0) { e.addEventListener(k.slice(2), props[k]); }
        else { e.setAttribute(k, props[k]); }
      });
    }
    for (var i = 2; i < arguments.length; i++) { append(e, arguments[i]); }
    return e;
  }

  // append adds children (elements, text, arrays of them; null is skipped).
  function append(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) { continue; }
      if (Array.isArray(c)) { c.forEach(function (x) { append(parent, x); }); continue; }
      parent.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
    }
    return parent;
  }

  function clear(node) {
    while (node.firstChild) { node.removeChild(node.firstChild); }
    return node;
  }

  function list(items) { return items || []; }

  function showStatus(text) { $("status").textContent = text; }

  // ---- API ----------------------------------------------------------------

  // api calls the JSON API and resolves to {ok, status, body}; body is the
  // decoded JSON or a made-up error when the answer was not JSON.
  function api(method, path, body) {
    var init = { method: method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(apiBase + path, init).then(function (r) {
      return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b || {} }; },
        function () {
          return { ok: false, status: r.status, body: { error: "internal", message: "mbcplan gave an answer it could not read (status " + r.status + ")." } };
        });
    }, function () {
      return { ok: false, status: 0, body: { error: "network", message: "mbcplan could not reach its server. Check the connection and try again." } };
    });
  }

  var relaunchKinds = { "session-expired": true, "relaunch": true };
  var ehrKinds = { "ehr-unreachable": true, "ehr-timeout": true };

  // showError shows an API error the way a clinician can act on it. A
  // session that ended replaces the page; other errors keep the plan on
  // screen with a notice above it.
  function showError(body, retry) {
    var kind = body.error || "internal";
    var message = body.message || "Something went wrong.";
    if (relaunchKinds[kind] || !state.plan) {
      var title = "Something went wrong";
      var hint = "";
      if (relaunchKinds[kind]) {
        title = "Session ended";
        hint = "What was already written (a draft, an acceptance) is kept.";
      } else if (ehrKinds[kind]) {
        // The plan could not be loaded: say that, in one calm sentence.
        title = "EHR unreachable";
        message = "The patient's record could not be read from the EHR just now.";
        hint = "Try again in a moment; if it keeps happening, give your EHR support the reference below.";
      } else if (kind === "network") {
        title = "mbcplan unreachable";
      }
      $("fatal-title").textContent = title;
      $("fatal-message").textContent = message;
      $("fatal-hint").textContent = hint;
      $("fatal-ref").textContent = body.requestId || "—";
      $("fatal-retry").hidden = relaunchKinds[kind] || !retry;
      $("fatal").hidden = false;
      $("fatal").setAttribute("data-kind", kind);
      if (!$("fatal-retry").hidden) { $("fatal-retry").focus(); }
      $("plan").hidden = true;
      $("alert").hidden = true;
      $("skip").hidden = true; // nothing to skip to without a plan
      showStatus("");
      retryAction = retry || null;
      return;
    }
    var a = clear($("alert"));
    a.setAttribute("data-kind", kind);
    append(a, el("p", null, message));
    if (body.requestId) { append(a, el("p", { className: "muted" }, "Reference: ", el("code", null, body.requestId))); }
    if (retry) { append(a, el("button", { type: "button", id: "alert-retry", onclick: function () { a.hidden = true; retry(); } }, "Try again")); }
    a.hidden = false;
    showStatus("");
  }

  var retryAction = null;

  function clearAlert() { $("alert").hidden = true; }

  // ---- loading --------------------------------------------------------------

  function loadPlan(refresh) {
    showStatus("Loading the plan…");
    return api("GET", "/plan" + (refresh ? "?refresh=1" : "")).then(function (res) {
      if (!res.ok) { showError(res.body, function () { loadPlan(refresh); }); return; }
      $("fatal").hidden = true;
      $("skip").hidden = false;
      clearAlert();
      receive(res.body, !state.plan);
      showStatus(refresh ? "The record was read again; the plan is up to date." : "Plan ready.");
    });
  }

  // receive takes a plan answer (GET plan or statements).
  function receive(body, first) {
    state.plan = body.plan;
    state.facts = body.facts || {};
    state.context = body.context || {};
    if (body.draft !== undefined) { state.draft = body.draft; }
    if (first) {
      applyContext(state.context);
      fillStatements(state.plan.statements || {});
      if (state.draft && state.draft.optionId && !state.chosen) { state.chosen = state.draft.optionId; }
      // After a reload the choices come back from the written draft.
      if (state.draft && state.draft.optionId === state.chosen && state.draft.choices) {
        state.choices = {};
        Object.keys(state.draft.choices).forEach(function (g) { state.choices[g] = state.draft.choices[g]; });
      }
      if (state.draft && state.draft.note && !$("note").value) { $("note").value = state.draft.note; }
    }
    renderPlan();
    renderDraft();
    $("plan").hidden = false;
    document.body.setAttribute("data-patient", (state.plan.patient && state.plan.patient.ref) || "");
  }

  // ---- launch context: banner and the EHR's style ---------------------------

  function applyContext(ctx) {
    var p = state.plan.patient || {};
    // The banner is filled always (a printed plan names its patient) and
    // shown on screen only when the EHR asks for it.
    $("banner-name").textContent = p.name || "Name not recorded";
    $("banner-age").textContent = p.age !== undefined && p.age !== null ? p.age + " years" : "age unknown";
    $("banner-sex").textContent = p.sex || "sex not recorded";
    $("banner").hidden = !ctx.needPatientBanner;
    if (ctx.smartStyleUrl) { applyStyle(); }
  }

  // styleVars maps SMART style keys to our CSS custom properties; values
  // are set through CSSOM, which ignores what is not a valid value.
  var styleVars = {
    color_background: "--bg",
    color_text: "--fg",
    color_highlight: "--accent",
    color_error: "--stop",
    color_success: "--ok",
    font_family_body: "--font",
    font_family_heading: "--font-heading",
    dim_border_radius: "--radius"
  };

  // applyStyle applies the EHR's style. The server fetches it from the EHR's
  // own origin (the page may connect to its own origin only) and passes on
  // known keys; values are set through CSSOM.
  function applyStyle() {
    api("GET", "/style").then(function (res) {
      var s = res.ok ? res.body : null;
      if (!s) { return; }
      var root = document.documentElement.style, applied = false;
      Object.keys(styleVars).forEach(function (k) {
        var v = s[k];
        if (typeof v === "string" && v && !/[;{}<>]/.test(v)) { root.setProperty(styleVars[k], v); applied = true; }
      });
      if (applied) { document.body.classList.add("ehr-styled"); }
    });
  }

  // ---- sources --------------------------------------------------------------

  // anchorFor is the id of a reference's entry in the source list.
  function anchorFor(ref) { return "src-" + ref.replace(/[^A-Za-z0-9_-]/g, "-"); }

  function noteRef(ref, what) {
    if (!state.refs[ref]) { state.refs[ref] = []; }
    if (what && state.refs[ref].indexOf(what) < 0) { state.refs[ref].push(what); }
  }

  // sourceOf shows where a fact came from: the clinician, or links to the
  // resources in the source list.
  function sourceOf(src) {
    if (!src) { return el("span", { className: "muted" }, "—"); }
    if (src.statedByClinician) { return el("span", { className: "stated" }, "stated by the clinician"); }
    var refs = list(src.refs);
    if (!refs.length) { return el("span", { className: "muted", title: "no source resource: derived by the rules or not found" }, "—"); }
    return el("span", { className: "refs" }, refs.map(function (r, i) {
      noteRef(r);
      return [i ? " " : "", el("a", { className: "ref", href: "#" + anchorFor(r) }, r)];
    }));
  }

  function dateOf(src) { return src && src.date ? src.date.slice(0, 10) : ""; }

  var factLabels = {
    er: "ER", pr: "PR", her2: "HER2", menopause: "Menopausal status", pregnancy: "Pregnancy",
    ecog: "ECOG", karnofsky: "Karnofsky", lvef: "LVEF", labs: "Lab", cancer: "Breast cancer",
    metastases: "Metastasis", comorbidities: "Comorbidity", medications: "Medication",
    diseaseStatus: "Disease status", allergies: "Allergy", variants: "Genomic result", pdl1: "PD-L1"
  };

  function describeFact(key, f) {
    var parts = [factLabels[key] || key];
    if (f.gene) { parts.push(f.gene); }
    if (f.kind && key !== "medications") { parts.push(f.kind); }
    var v = f.text || f.name || (f.coding && f.coding.display) || (f.substance && f.substance.display) || f.status || f.value;
    if (v !== undefined && v !== null && v !== "") { parts.push(String(v) + (f.unit ? " " + f.unit : "")); }
    if (f.ihc) { parts.push("IHC " + f.ihc); }
    if (f.method) { parts.push("(" + f.method + ")"); }
    if (f.status && key === "medications") { parts.push(f.status); }
    return parts.join(" ");
  }

  // indexFacts records what the record says for each reference.
  function indexFacts() {
    state.refs = {};
    var f = state.facts || {};
    Object.keys(factLabels).forEach(function (k) {
      list(f[k]).forEach(function (x) {
        list(x.refs).forEach(function (r) {
          noteRef(r, describeFact(k, x) + (x.date ? ", " + x.date.slice(0, 10) : "") + (x.final === false ? ", not final" : ""));
        });
      });
    });
    if (f.oophorectomy) { list(f.oophorectomy.refs).forEach(function (r) { noteRef(r, "Oophorectomy " + dateOf(f.oophorectomy)); }); }
  }

  function renderSources() {
    var p = state.plan;
    $("knowledge").textContent = "Rules " + p.knowledgeVersion + " (" + p.knowledgeDate + "), plan made for " + p.generated +
      ". Rules that fired: " + list(p.rulesFired).join(", ") + ". ✔ read in a stored source; † guideline status to confirm.";
    var ul = clear($("source-list"));
    Object.keys(state.refs).sort().forEach(function (r) {
      var what = state.refs[r];
      append(ul, el("li", { id: anchorFor(r), tabindex: "-1" }, el("code", null, r), " — ",
        what.length ? what.join("; ") : el("span", { className: "muted" }, "referenced by the plan")));
    });
    var notes = clear($("record-notes"));
    var rec = p.record || {};
    if (list(rec.skipped).length) {
      append(notes, el("h3", null, "Not used from the record"),
        el("ul", null, rec.skipped.map(function (s) { return el("li", null, el("code", null, s.resource), ": " + s.reason); })));
    }
    if (list(rec.notFinal).length) {
      append(notes, el("p", null, "Shown but not used because not final: ", rec.notFinal.join(", ")));
    }
    if (rec.otherSubject) {
      append(notes, el("p", null, rec.otherSubject + " resource(s) about another patient were dropped."));
    }
  }

  // ---- receptors ------------------------------------------------------------

  function pct(x) { return x === undefined || x === null ? "" : x + "%"; }

  // resultsFor finds the fact entries behind a call (those sharing a ref).
  function resultsFor(results, call) {
    var refs = list(call && call.refs);
    return list(results).filter(function (r) {
      return list(r.refs).some(function (x) { return refs.indexOf(x) >= 0; });
    });
  }

  function receptorDetail(key, call) {
    if (call && call.statedByClinician) { return "clinician statement"; }
    var rs = resultsFor(state.facts[key], call);
    var parts = [];
    rs.forEach(function (r) {
      var d = [];
      if (r.ihc) { d.push("IHC " + r.ihc + (r.staining ? " (" + r.staining + " staining)" : "")); }
      if (r.ish) { d.push("ISH " + r.ish); }
      if (r.ratio !== undefined && r.ratio !== null) { d.push("HER2/CEP17 " + r.ratio); }
      if (r.copyNumber !== undefined && r.copyNumber !== null) { d.push(r.copyNumber + " copies/cell"); }
      if (r.percent !== undefined && r.percent !== null) { d.push(pct(r.percent) + " nuclei"); }
      if (r.allred !== undefined && r.allred !== null) { d.push("Allred " + r.allred); }
      if (!d.length && r.text) { d.push("“" + r.text + "”"); }
      if (r.method) { d.push(r.method); }
      if (r.specimen) { d.push(r.specimen + " specimen"); }
      parts.push(d.join(", "));
    });
    if (call && call.basis) { parts.push(call.basis); }
    return parts.filter(Boolean).join(" · ");
  }

  function valueCell(value, cls) {
    return el("td", null, el("span", { className: "value value-" + (cls || value || "unknown") }, value || "unknown"));
  }

  function renderReceptors() {
    var st = state.plan.subtype || {};
    $("subtype").textContent = st.summary || st.name || "Subtype unknown";
    $("subtype-basis").textContent = st.hr && st.hr.basis ? "HR " + st.hr.value + ": " + st.hr.basis + " (" + list(st.hr.rules).join(", ") + ")" : "";
    var rows = clear($("receptor-rows"));
    [["ER", "er", st.er], ["PR", "pr", st.pr], ["HER2", "her2", st.her2]].forEach(function (m) {
      var call = m[2] || {};
      var value = call.value || "unknown";
      if (m[1] === "er" && st.erLow) { value += " (ER-low)"; }
      append(rows, el("tr", { id: "receptor-" + m[1], "data-value": call.value || "unknown" },
        el("th", { scope: "row" }, m[0]),
        valueCell(value, call.value),
        el("td", null, receptorDetail(m[1], call), call.rules && call.rules.length ? el("span", { className: "rule" }, " " + call.rules.join(", ")) : null),
        el("td", { className: "date" }, dateOf(call)),
        el("td", null, sourceOf(call))));
    });
    [["HER2-low", "her2-low", st.her2Low], ["HER2-ultralow", "her2-ultralow", st.her2Ultralow]].forEach(function (m) {
      var call = m[2] || {};
      append(rows, el("tr", { id: "receptor-" + m[1], "data-value": call.value || "unknown" },
        el("th", { scope: "row" }, m[0]),
        valueCell(call.value || "unknown", call.value === "yes" ? "positive" : call.value === "no" ? "negative" : "unknown"),
        el("td", null, call.basis || "", call.rules && call.rules.length ? el("span", { className: "rule" }, " " + call.rules.join(", ")) : null),
        el("td", { className: "date" }, dateOf(call)),
        el("td", null, sourceOf(call))));
    });

    var p = state.plan;
    var dl = clear($("context-facts"));
    var meno = p.menopause || {};
    append(dl, el("dt", null, "Menopausal status"),
      el("dd", { id: "menopause" }, meno.status || "unknown", meno.basis ? " (" + meno.basis + ")" : "",
        meno.treatAsPremenopausal ? " — treated as premenopausal: ovarian suppression with AI or SERD" : "", " ", sourceOf(meno)));
    var dis = p.disease || {};
    append(dl, el("dt", null, "Metastatic disease"),
      el("dd", { id: "disease" }, dis.metastatic ? "yes" : "not established", list(dis.sites).length ? ": " + dis.sites.join(", ") : "",
        dis.visceral ? " (visceral)" : "", dis.firstRecorded ? ", first recorded " + dis.firstRecorded : "",
        dis.basis ? " — " + dis.basis : "", " ", sourceOf(dis)));
    if (list(p.regimens).length) {
      append(dl, el("dt", null, "Anticancer therapy"), el("dd", null, el("ul", { className: "plain" }, p.regimens.map(function (r) {
        return el("li", null, (r.setting === "adjuvant" ? "adjuvant" : "line " + (r.line || "?")) + ": " + list(r.drugs).join(" + ") +
          " (" + (r.start || "?") + " – " + (r.current ? "now" : r.end || "?") + ")" + (r.progression ? ", progression recorded" : ""), " ", sourceOf(r));
      }))));
    }
    var disc = clear($("discordance"));
    if (list(p.discordance).length) {
      append(disc, el("h3", null, "Receptor changes"), el("ul", null, p.discordance.map(function (d) {
        return el("li", null, d.marker + ": " + d.text + " (", sourceOf(d.earlier), " → ", sourceOf(d.later), ")");
      })));
    }
    renderTimeline();
  }

  // ---- timeline (inline SVG) -------------------------------------------------

  var SVG = "http://www.w3.org/2000/svg";

  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    for (var i = 2; i < arguments.length; i++) { append(e, arguments[i]); }
    return e;
  }

  // parseDate reads YYYY, YYYY-MM, YYYY-MM-DD or a dateTime as a time value.
  function parseDate(s) {
    if (!s) { return null; }
    var m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(s);
    if (!m) { return null; }
    return Date.UTC(+m[1], m[2] ? +m[2] - 1 : 0, m[3] ? +m[3] : 1);
  }

  function renderTimeline() {
    var box = clear($("timeline"));
    var p = state.plan, f = state.facts;
    var marks = [];
    [["ER", "er"], ["PR", "pr"], ["HER2", "her2"]].forEach(function (m, lane) {
      list(f[m[1]]).forEach(function (r) {
        var t = parseDate(r.date);
        if (t === null) { return; }
        var v = r.status || (r.ihc ? "IHC " + r.ihc : "unknown");
        var cls = r.status ? "mark-" + r.status : r.ihc ? "mark-ihc" : "mark-unknown";
        marks.push({ lane: lane, t: t, label: m[0] + " " + v + (r.ihc && r.status ? " (IHC " + r.ihc + ")" : "") + ", " + r.date.slice(0, 10), cls: cls });
      });
    });
    var bars = [];
    var now = parseDate(p.generated) || Date.now();
    list(p.regimens).forEach(function (r) {
      var s = parseDate(r.start);
      if (s === null) { return; }
      var e = r.current ? now : parseDate(r.end) || s;
      bars.push({ s: s, e: Math.max(e, s), short: (r.setting === "adjuvant" ? "adjuvant" : "line " + r.line) + ": " + list(r.drugs).join(" + "),
        label: (r.setting === "adjuvant" ? "adjuvant" : "line " + r.line) + ": " + list(r.drugs).join(" + ") + " (" + r.start + " – " + (r.current ? "now" : r.end || "?") + ")" + (r.progression ? ", progression" : ""), progression: r.progression });
    });
    var met = parseDate(p.disease && p.disease.firstRecorded);
    var times = marks.map(function (m) { return m.t; }).concat(bars.map(function (b) { return b.s; }), [now]);
    if (met !== null) { times.push(met); }
    if (marks.length + bars.length === 0) {
      append(box, el("p", { className: "muted" }, "No dated receptor results or therapy to draw."));
      return;
    }
    var t0 = Math.min.apply(null, times), t1 = Math.max.apply(null, times);
    var pad = 30 * 864e5;
    t0 -= pad; t1 += pad;
    var W = 720, left = 64, right = 16, laneH = 26, top = 10;
    var lanes = ["ER", "PR", "HER2", "Therapy"];
    var H = top + lanes.length * laneH + 28;
    function x(t) { return left + (W - left - right) * (t - t0) / (t1 - t0); }
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-labelledby": "timeline-title", "class": "timeline-svg" },
      svg("title", { id: "timeline-title" }, "Timeline: " + marks.length + " receptor results and " + bars.length + " therapy lines"));
    lanes.forEach(function (name, i) {
      var y = top + i * laneH + laneH / 2;
      append(root, svg("text", { x: 4, y: y + 4, "class": "lane-label" }, name),
        svg("line", { x1: left, x2: W - right, y1: y, y2: y, "class": "lane-line" }));
    });
    var y0 = new Date(t0).getUTCFullYear() + 1, y1 = new Date(t1).getUTCFullYear();
    for (var yr = y0; yr <= y1; yr++) {
      var tx = x(Date.UTC(yr, 0, 1));
      append(root, svg("line", { x1: tx, x2: tx, y1: top, y2: H - 22, "class": "year-line" }),
        svg("text", { x: tx, y: H - 8, "class": "year-label", "text-anchor": "middle" }, String(yr)));
    }
    if (met !== null) {
      append(root, svg("line", { x1: x(met), x2: x(met), y1: top, y2: H - 22, "class": "met-line" },
        svg("title", null, "Metastatic disease first recorded " + p.disease.firstRecorded)));
    }
    bars.forEach(function (b) {
      var y = top + 3 * laneH + 4;
      var w = Math.max(4, x(b.e) - x(b.s));
      append(root, svg("rect", { x: x(b.s), y: y, width: w, height: laneH - 8, rx: 3, tabindex: "0", "class": "bar" + (b.progression ? " bar-progression" : ""), "aria-label": b.label },
        svg("title", null, b.label)));
      // The label goes inside the bar when it fits (about 7 px a character).
      if (w > b.short.length * 7 + 8) {
        append(root, svg("text", { x: x(b.s) + 5, y: y + laneH - 13, "class": "bar-label", "aria-hidden": "true" }, b.short));
      }
    });
    marks.forEach(function (m) {
      var y = top + m.lane * laneH + laneH / 2;
      append(root, svg("circle", { cx: x(m.t), cy: y, r: 6, tabindex: "0", "class": "mark " + m.cls, "aria-label": m.label },
        svg("title", null, m.label)));
    });
    append(box, root);
  }

  // ---- data needed, messages --------------------------------------------------

  function renderMessages() {
    var box = clear($("messages"));
    list(state.context.warnings).forEach(function (w) {
      append(box, el("p", { className: "message level-info" }, w));
    });
    list(state.plan.messages).forEach(function (m) {
      var label = m.level === "stop" ? "Stop: " : m.level === "warning" ? "Warning: " : "";
      append(box, el("p", { className: "message level-" + m.level }, label ? el("strong", null, label) : null, m.text,
        list(m.rules).length ? el("span", { className: "rule" }, " " + m.rules.join(", ")) : null));
    });
  }

  function codingText(c) {
    if (!c) { return ""; }
    var sys = /loinc/.test(c.system || "") ? "LOINC " : /snomed/.test(c.system || "") ? "SNOMED " : "";
    return (c.display || "") + (c.code ? " (" + sys + c.code + ")" : "");
  }

  function renderDataNeeded() {
    var items = list(state.plan.dataNeeded);
    var sec = $("data-needed");
    sec.hidden = items.length === 0;
    var blocking = items.some(function (d) { return d.blocking; });
    // Data that blocks a decision comes first, above the tumour biology.
    var parent = sec.parentNode;
    if (blocking) { parent.insertBefore(sec, $("receptors")); } else { parent.insertBefore(sec, $("more")); }
    sec.classList.toggle("blocking", blocking);
    $("data-needed-heading").textContent = blocking ? "Data needed before a decision" : "Data needed";
    var ul = clear($("data-needed-list"));
    items.forEach(function (d) {
      append(ul, el("li", { className: "card need" + (d.blocking ? " need-blocking" : ""), "data-id": d.id },
        el("p", null, d.blocking ? el("strong", null, "Blocks the decision: ") : null, el("strong", null, d.item), " — " + d.reason),
        el("p", null, d.why),
        d.order ? el("p", null, "Order: ", el("span", { className: "order" }, codingText(d.order))) : null,
        el("p", { className: "small" }, list(d.rules).length ? el("span", { className: "rule" }, d.rules.join(", ") + " ") : null,
          list(d.refs).length || d.statedByClinician ? sourceOf(d) : null)));
    });
  }

  // ---- options -----------------------------------------------------------------

  function drugsText(drugs) {
    var groups = {}, order = [], all = [];
    list(drugs).forEach(function (d) {
      if (!d.choice) { all.push(d.name); return; }
      if (!groups[d.choice]) { groups[d.choice] = []; order.push(d.choice); }
      groups[d.choice].push(d.name);
    });
    var parts = all.slice();
    order.forEach(function (c) {
      parts.push(groups[c].length > 1 ? "one of " + groups[c].join(" / ") : groups[c][0]);
    });
    return parts.join(" + ");
  }

  function evidenceList(ev) {
    return el("ul", { className: "evidence" }, list(ev).map(function (e) {
      return el("li", null, el("span", { className: "rule" }, e.ruleId), " ", e.source, e.year ? " (" + e.year + ")" : "",
        e.strength && e.strength !== "†" ? " — strength: " + e.strength : "", " ",
        e.checked ? el("span", { className: "checked", title: "read in a stored source" }, "✔")
          : el("span", { className: "unchecked", title: "guideline status to confirm" }, "† to confirm"));
    }));
  }

  var severityLabel = { block: "Do not start: ", caution: "Caution: ", info: "Note: " };

  function flagItem(f) {
    return el("li", { className: "flag flag-" + f.severity, "data-flag": f.id },
      el("strong", null, severityLabel[f.severity] || ""), f.text, " ",
      el("span", { className: "rule" }, list(f.rules).join(", ")));
  }

  function itemLine(it) {
    return el("li", { "data-item": it.id }, it.text, it.code ? el("span", { className: "order" }, " — order " + codingText(it.code)) : null,
      " ", el("span", { className: "rule" }, list(it.rules).join(", ")),
      list(it.evidence).length ? evidenceList(it.evidence) : null);
  }

  function sortedOptions() {
    return list(state.plan.options).slice().sort(function (a, b) {
      if (!!a.preferred !== !!b.preferred) { return a.preferred ? -1 : 1; }
      return (a.rank || 0) - (b.rank || 0);
    });
  }

  function renderOptions() {
    var p = state.plan;
    $("line").textContent = p.line ? "Options for line " + p.line + " of therapy for metastatic disease, preferred first." : "Line of therapy not determined.";
    var cont = clear($("continue"));
    if (p.continue) {
      append(cont, el("p", { className: "message level-info" }, el("strong", null, "Continue: "), p.continue.text,
        el("span", { className: "rule" }, " " + list(p.continue.rules).join(", "))));
    }
    var opts = sortedOptions();
    $("no-options").hidden = opts.length > 0;
    if (state.chosen && !opts.some(function (o) { return o.id === state.chosen; })) { state.chosen = ""; }
    var ol = clear($("option-list"));
    opts.forEach(function (o) {
      var rid = "opt-" + o.id;
      var radio = el("input", { type: "radio", name: "option", id: rid, value: o.id });
      radio.checked = o.id === state.chosen;
      radio.addEventListener("change", function () { if (radio.checked) { choose(o.id); } });
      append(ol, el("li", { className: "option card" + (o.preferred ? " preferred" : "") + (o.id === state.chosen ? " chosen" : ""), "data-option-id": o.id },
        el("div", { className: "option-head" }, radio,
          el("label", { "for": rid }, el("span", { className: "option-title" }, o.title)),
          o.preferred ? el("span", { className: "badge" }, "Preferred") : null,
          o.line ? el("span", { className: "badge badge-quiet" }, "Line " + o.line) : null,
          el("span", { className: "badge badge-quiet" }, o.category)),
        el("p", { className: "drugs" }, drugsText(o.drugs), o.schedule ? el("span", { className: "muted" }, " · schedule " + o.schedule) : null),
        el("p", null, o.rationale),
        list(o.flags).length ? el("ul", { className: "flags" }, o.flags.map(flagItem)) : null,
        el("div", { className: "why" },
          el("h4", null, "Why"),
          el("ul", { className: "facts-used" }, list(o.factsUsed).map(function (fu) {
            return el("li", null, fu.fact, " ", sourceOf(fu));
          })),
          el("p", null, "→ rules ", el("span", { className: "rule" }, list(o.rules).join(", "))),
          el("h4", null, "Source and strength"),
          evidenceList(o.evidence)),
        list(o.monitoring).length ? el("div", { className: "monitor" }, el("h4", null, "Monitoring"), el("ul", null, o.monitoring.map(itemLine))) : null));
    });
    var rm = clear($("removed"));
    if (list(p.removed).length) {
      append(rm, el("h3", null, "Removed by the safety check"), el("ul", null, p.removed.map(function (r) {
        return el("li", null, el("strong", null, r.title), ": " + r.reason + " (" + r.gate + ")");
      })));
    }
    var np = clear($("not-proposed"));
    if (list(p.notProposed).length) {
      append(np, el("h3", null, "Considered and not proposed"), el("ul", null, p.notProposed.map(function (n) {
        return el("li", null, el("strong", null, n.drug), ": " + n.reason, " ", el("span", { className: "rule" }, list(n.rules).join(", ")));
      })));
    }
  }

  function renderMore() {
    var p = state.plan;
    [["monitoring", "Monitoring, tests and referrals", p.monitoring], ["lifestyle", "Lifestyle", p.lifestyle],
      ["trials", "Clinical trials", p.trials], ["shared-decision", "Shared decision", p.sharedDecision]].forEach(function (s) {
      var box = clear($(s[0]));
      if (!list(s[2]).length) { return; }
      append(box, el("h3", null, s[1]), el("ul", { className: "items" }, s[2].map(itemLine)));
    });
    var allFlags = list(p.safetyFlags).filter(function (f) { return !list(f.options).length; });
    if (allFlags.length) {
      append($("monitoring"), el("h3", null, "Safety flags for every option"), el("ul", { className: "flags" }, allFlags.map(flagItem)));
    }
  }

  // ---- statements ----------------------------------------------------------------

  var statementLabels = {
    er: "ER", pr: "PR", her2: "HER2", her2Ihc: "HER2 IHC", visceralCrisis: "visceral crisis",
    progression: "progression on the current regimen", qtcf: "QTcF", ofsDeclined: "ovarian suppression declined",
    cdk46Unsuitable: "CDK4/6 inhibitor unsuitable", pregnancy: "pregnancy"
  };

  function fillStatements(st) {
    Array.prototype.forEach.call($("statements-form").elements, function (f) {
      if (!f.name) { return; }
      var v = st[f.name];
      f.value = v === undefined || v === null ? "" : String(v);
    });
  }

  function readStatements() {
    var out = {};
    Array.prototype.forEach.call($("statements-form").elements, function (f) {
      if (!f.name || f.value === "") { return; }
      var kind = f.getAttribute("data-kind");
      if (kind === "bool") { out[f.name] = f.value === "true"; }
      else if (kind === "number") { out[f.name] = Number(f.value); }
      else { out[f.name] = f.value; }
    });
    return out;
  }

  function renderStated() {
    var st = state.plan.statements || {};
    var box = clear($("stated"));
    var keys = Object.keys(statementLabels).filter(function (k) { return st[k] !== undefined && st[k] !== null; });
    if (!keys.length) { return; }
    append(box, el("h3", null, "In the plan, stated by the clinician"), el("ul", { id: "stated-list", className: "plain" }, keys.map(function (k) {
      var v = st[k];
      var text = typeof v === "boolean" ? (v ? "yes" : "no") : k === "qtcf" ? v + " ms" : String(v);
      return el("li", { "data-statement": k }, el("span", { className: "stated" }, statementLabels[k] + ": " + text));
    })), st.date ? el("p", { className: "muted small" }, "Stated " + st.date.slice(0, 16).replace("T", " ")) : null);
  }

  // Statements are sent one request at a time, so the server always ends
  // with the clinician's latest; a change made meanwhile is sent after.
  var statementsInFlight = false;
  var statementsPending = false;

  function sendStatements() {
    var qt = $("st-qtcf");
    if (qt.value !== "" && !qt.checkValidity()) {
      showError({ error: "bad-request", message: "QTcF must be a number of milliseconds between 250 and 800." });
      return;
    }
    if (statementsInFlight) { statementsPending = true; return; }
    statementsInFlight = true;
    showStatus("Updating the plan…");
    api("POST", "/statements", readStatements()).then(function (res) {
      statementsInFlight = false;
      if (statementsPending) { statementsPending = false; sendStatements(); return; }
      if (!res.ok) { showError(res.body, sendStatements); return; }
      clearAlert();
      receive(res.body, false);
      showStatus("Plan updated with your statements.");
    });
  }

  // ---- draft ------------------------------------------------------------------------

  function choose(id) {
    if (id !== state.chosen) { state.choices = {}; }
    state.chosen = id;
    Array.prototype.forEach.call(document.querySelectorAll(".option"), function (li) {
      li.classList.toggle("chosen", li.getAttribute("data-option-id") === id);
    });
    renderChoices();
    renderDraft();
  }

  // choiceGroups lists the chosen option's groups of alternatives: drugs
  // sharing a choice group are "one of"; a CarePlan is accepted only with
  // one drug chosen in each.
  function choiceGroups() {
    var opt = list(state.plan && state.plan.options).filter(function (o) { return o.id === state.chosen; })[0];
    var groups = {}, order = [];
    list(opt && opt.drugs).forEach(function (d) {
      if (!d.choice) { return; }
      if (!groups[d.choice]) { groups[d.choice] = []; order.push(d.choice); }
      groups[d.choice].push(d.name);
    });
    return order.filter(function (g) { return groups[g].length > 1; }).map(function (g) { return { id: g, drugs: groups[g] }; });
  }

  function renderChoices() {
    var box = clear($("choices"));
    var groups = choiceGroups();
    var kept = {};
    groups.forEach(function (g) {
      if (g.drugs.indexOf(state.choices[g.id]) >= 0) { kept[g.id] = state.choices[g.id]; }
    });
    state.choices = kept;
    if (!groups.length) { return; }
    var fs = el("fieldset", { className: "choices" }, el("legend", null, "Choose one drug of each group"));
    groups.forEach(function (g) {
      var sel = el("select", { id: "choice-" + g.id, name: g.id },
        el("option", { value: "" }, "not chosen yet"),
        g.drugs.map(function (d) { return el("option", { value: d }, d); }));
      sel.value = state.choices[g.id] || "";
      sel.addEventListener("change", function () {
        if (sel.value) { state.choices[g.id] = sel.value; } else { delete state.choices[g.id]; }
        renderDraft();
      });
      append(fs, el("label", { "for": sel.id }, "One of " + g.drugs.join(", ")), sel);
    });
    append(fs, el("p", { className: "hint" }, "A draft may keep the alternatives open; accepting needs one drug of each."));
    append(box, fs);
  }

  function choicesComplete() {
    return choiceGroups().every(function (g) { return !!state.choices[g.id]; });
  }

  var statusText = {
    draft: "Draft — waiting for review",
    active: "Accepted — active",
    completed: "Completed (accepted)",
    revoked: "Rejected or replaced (revoked)"
  };

  function carePlanRef(id) { return id ? "CarePlan/" + String(id).replace(/^CarePlan\//, "") : "a CarePlan"; }

  function whereText(d) {
    if (d.where === "ehr") { return "Written to the EHR as " + carePlanRef(d.id) + "."; }
    return "Kept in the mbcplan store: this EHR does not accept care plans. On acceptance, the plan is written to the chart as a note.";
  }

  function renderDraft() {
    var opt = list(state.plan && state.plan.options).filter(function (o) { return o.id === state.chosen; })[0];
    $("chosen").textContent = opt ? "Chosen: " + opt.title : "Choose an option to write a draft.";
    var d = state.draft;
    var open = d && d.status === "draft";
    $("write-draft").disabled = !opt || state.busy;
    $("write-draft").textContent = d && open ? "Write a new draft" : "Write draft";
    $("save-note").hidden = !open;
    $("save-note").disabled = state.busy;
    $("decide").hidden = !open;
    $("accept").disabled = state.busy;
    $("reject").disabled = state.busy;
    var box = clear($("draft-state"));
    var openChoices = !!(open && d.openChoices);
    $("choice-note").hidden = !openChoices;
    $("write-again").disabled = state.busy || !opt || !d || opt.id !== d.optionId || !choicesComplete();
    if (!d) { return; }
    var chosenTitle = list(state.plan.options).filter(function (o) { return o.id === d.optionId; })[0];
    // Chosen drugs in the option's order.
    var order = list(chosenTitle && chosenTitle.drugs).map(function (x) { return x.name; });
    var chosenDrugs = Object.keys(d.choices || {}).map(function (g) { return d.choices[g]; }).sort(function (x, y) {
      var i = order.indexOf(x), j = order.indexOf(y);
      return (i < 0 ? order.length : i) - (j < 0 ? order.length : j) || (x < y ? -1 : x > y ? 1 : 0);
    });
    append(box, el("p", { id: "draft-status", className: "draft-status status-" + d.status, "data-status": d.status, "data-where": d.where },
      el("strong", null, statusText[d.status] || d.status)),
    el("p", { id: "draft-where" }, whereText(d)),
    el("dl", { className: "facts small" },
      el("dt", null, "Option"), el("dd", null, chosenTitle ? chosenTitle.title : d.optionId),
      chosenDrugs.length ? [el("dt", null, "Chosen drugs"), el("dd", { id: "draft-choices" }, chosenDrugs.join(", "))] : null,
      d.openChoices ? [el("dt", null, "Alternatives"), el("dd", { id: "draft-open-choices" }, "still open (“one of …”)")] : null,
      d.note ? [el("dt", null, "Note"), el("dd", { id: "draft-note" }, d.note)] : null,
      el("dt", null, "Identifier"), el("dd", null, el("code", null, d.identifier || "—")),
      el("dt", null, "Version"), el("dd", null, el("code", { id: "draft-version" }, d.version || "—"))),
    d.created === false && d.status === "draft" ? el("p", { className: "muted small" }, "The same draft already existed; it was not written twice.") : null,
    list(d.replaced).length ? el("p", { className: "muted small" }, "Replaces the earlier draft " + d.replaced.join(", ") + ", now revoked.") : null,
    list(d.warnings).map(function (w) { return el("p", { className: "message level-warning" }, w); }));
  }

  function setBusy(b) { state.busy = b; renderDraft(); }

  function draftCall(path, body, done) {
    setBusy(true);
    clearAlert();
    $("conflict").hidden = true;
    showStatus("Saving…");
    return api("POST", path, body).then(function (res) {
      setBusy(false);
      if (res.status === 409 && res.body.error === "conflict") { showConflict(res.body, path, body); showStatus(""); return; }
      if (res.body.error === "not-open" || res.body.error === "no-draft") {
        showError(res.body);
        refreshDraft();
        return;
      }
      if (!res.ok) {
        showError(res.body);
        if (res.body.error === "choice-needed") {
          if (state.draft) { state.draft.openChoices = true; }
          renderDraft();
          var first = Array.prototype.filter.call(document.querySelectorAll("#choices select"), function (s) { return !s.value; })[0];
          if (first) { first.focus(); }
        }
        return;
      }
      if (res.body.draft) { state.draft = res.body.draft; }
      renderDraft();
      if (done) { done(res.body); }
    });
  }

  // refreshDraft reads the plan answer again for the draft's current state.
  function refreshDraft(then) {
    api("GET", "/plan").then(function (res) {
      if (!res.ok) { showError(res.body); return; }
      state.draft = res.body.draft || null;
      renderDraft();
      if (then) { then(state.draft); }
    });
  }

  function writeDraft() {
    if (!state.chosen) { return; }
    clear($("accepted"));
    var complete = choicesComplete();
    var body = { optionId: state.chosen, note: $("note").value };
    if (Object.keys(state.choices).length) { body.choices = state.choices; }
    draftCall("/draft", body, function () {
      showStatus(complete ? "Draft written." : "Draft written; alternatives are still open.");
    });
  }

  function saveNote() {
    if (!state.draft) { return; }
    draftCall("/draft/edit", { version: state.draft.version, note: $("note").value }, function () { showStatus("Note saved."); });
  }

  function accept() {
    if (!state.draft) { return; }
    draftCall("/accept", { version: state.draft.version }, function (b) {
      var acc = b.accepted || {};
      var box = clear($("accepted"));
      var doc = acc.documentReference;
      append(box, el("p", { id: "accepted-where", className: "message level-ok", "data-where": acc.where || "" }, el("strong", null, "Accepted. "),
        acc.where === "ehr" ? "The active care plan is in the EHR as " + carePlanRef(acc.id) + "."
          : "The active care plan is kept in the mbcplan store (" + carePlanRef(acc.id) + ")" +
            (doc ? (doc.where === "ehr" ? "; a note with the plan was written to the chart as DocumentReference/" + doc.id : "; the note for the chart is kept in the mbcplan store") : "") + "."));
      showStatus("Draft accepted.");
    });
  }

  function reject() {
    if (!state.draft) { return; }
    var reason = $("reject-reason").value.trim();
    if (!reason) {
      showError({ error: "bad-request", message: "Give a reason for rejecting the draft." });
      $("reject-reason").focus();
      return;
    }
    draftCall("/reject", { version: state.draft.version, reason: reason }, function () { showStatus("Draft rejected."); });
  }

  function yourNote(y) {
    if (y && y.edit && typeof y.edit.note === "string") { return y.edit.note; }
    return null;
  }

  // showConflict says plainly that someone else changed the draft, what
  // changed, and lets the clinician keep their version or apply the edit
  // again on top of it.
  function showConflict(body, path, sent) {
    var box = clear($("conflict"));
    // The conflict answer carries the current id, version and status; the
    // rest of what we know about the draft still holds.
    var cur = null;
    if (body.current) {
      cur = {};
      Object.keys(state.draft || {}).forEach(function (k) { cur[k] = state.draft[k]; });
      Object.keys(body.current).forEach(function (k) {
        if (body.current[k] !== "" && body.current[k] !== null && body.current[k] !== undefined) { cur[k] = body.current[k]; }
      });
      if (body.current.note === undefined) { delete cur.note; } // the other edit may have changed it
      state.draft = cur;
      renderDraft();
    }
    append(box, el("h3", null, "Someone else changed this draft"),
      el("p", null, body.message || "The draft changed since you opened it."),
      list(body.changes).length ? [el("p", null, "What changed:"), el("ul", { id: "conflict-changes" }, body.changes.map(function (c) { return el("li", null, c); }))] : null,
      cur ? el("p", null, "Now: ", el("strong", null, statusText[cur.status] || cur.status), cur.note ? " — note: “" + cur.note + "”" : "") : null,
      yourNote(body.yourEdit) !== null ? el("p", null, "Your note, not yet saved: “" + yourNote(body.yourEdit) + "”") : null);
    var actions = el("p", { className: "actions" });
    append(actions, el("button", { type: "button", id: "conflict-keep", onclick: function () {
      box.hidden = true;
      refreshDraft(function (d) { $("note").value = (d && d.note) || ""; });
      showStatus("Showing the current draft.");
    } }, "Keep their version"));
    if (cur && cur.status === "draft") {
      var again = {};
      Object.keys(sent).forEach(function (k) { again[k] = sent[k]; });
      again.version = cur.version;
      append(actions, el("button", { type: "button", id: "conflict-retry", onclick: function () {
        box.hidden = true;
        draftCall(path, again, function () { showStatus("Applied to the current draft."); });
      } }, path === "/draft/edit" ? "Apply my note to their version" : "Do it on their version"));
    }
    append(box, actions);
    box.hidden = false;
    $("conflict-keep").focus();
  }

  // ---- render all ---------------------------------------------------------------

  function renderPlan() {
    indexFacts();
    renderMessages();
    renderDataNeeded();
    renderReceptors();
    renderOptions();
    renderChoices();
    renderMore();
    renderStated();
    renderSources();
  }

  // ---- wiring ----------------------------------------------------------------------

  var started = false;
  document.addEventListener("DOMContentLoaded", start);
  if (document.readyState !== "loading") { start(); }

  function start() {
    if (started) { return; }
    started = true;
    var form = $("statements-form");
    form.addEventListener("submit", function (e) { e.preventDefault(); sendStatements(); });
    Array.prototype.forEach.call(form.elements, function (f) {
      if (f.name) { f.addEventListener("change", sendStatements); }
    });
    $("write-draft").addEventListener("click", writeDraft);
    $("write-again").addEventListener("click", writeDraft);
    $("refresh").addEventListener("click", function () { loadPlan(true); });
    $("save-note").addEventListener("click", saveNote);
    $("accept").addEventListener("click", accept);
    $("reject").addEventListener("click", reject);
    $("fatal-retry").addEventListener("click", function () { if (retryAction) { retryAction(); } });
    $("st-qtcf").addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); sendStatements(); } });
    $("reject-reason").addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); reject(); } });
    if (!launch) {
      showError({ error: "relaunch", message: "This page was opened without a launch." });
      return;
    }
    loadPlan(false);
  }
})();
