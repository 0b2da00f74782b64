// The Board dashboard: reads the Board's JSON views with the token the user gives.
// The token lives in sessionStorage only (this tab) and is sent only to this origin.
// Every value from the API is written with textContent, never as HTML.
(function () {
  "use strict";

  var TOKEN_KEY = "ledger.dashboard.token";
  var MAX_PAGES = 50;
  var generation = 0; // a sign-out or reload makes older answers stale

  function $(id) { return document.getElementById(id); }

  function ApiError(status, detail) {
    this.status = status;
    this.detail = detail;
  }

  async function getJson(path, token) {
    var response;
    try {
      response = await fetch(path, {
        headers: { "Authorization": "Bearer " + token, "Accept": "application/json" },
        cache: "no-store", credentials: "omit",
      });
    } catch (e) {
      throw new ApiError(0, "the ledger API could not be reached");
    }
    if (!response.ok) {
      var detail = response.statusText || "no detail given";
      try {
        var problem = await response.json();
        detail = problem.detail || problem.title || detail;
      } catch (e) { /* not problem+json: keep the status text */ }
      throw new ApiError(response.status, detail);
    }
    return response.json();
  }

  // A paged view, every page (each answer says the position it reflects; keep the least).
  async function allPages(path, token) {
    var body = await getJson(path, token);
    var items = body.items.slice();
    var position = body.position;
    for (var n = 1; body.next_cursor && n < MAX_PAGES; n++) {
      body = await getJson(path + "&cursor=" + encodeURIComponent(body.next_cursor), token);
      items = items.concat(body.items);
      position = Math.min(position, body.position);
    }
    return { position: position, today: body.today, items: items };
  }

  // ---- formatting -------------------------------------------------------------------------
  var DATE = new Intl.DateTimeFormat("en-GB",
    { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });

  function dateText(iso) {
    return iso ? DATE.format(new Date(iso + "T00:00:00Z")) : "";
  }

  function words(code) {
    var text = String(code || "").replace(/[_-]+/g, " ").trim();
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function workingDays(n) {
    return n + (n === 1 ? " working day" : " working days");
  }

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      if (key === "text") node.textContent = props[key];
      else if (key === "className") node.className = props[key];
      else node.setAttribute(key, props[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function dateEl(iso) {
    return iso ? el("time", { datetime: iso, text: dateText(iso) }) : el("span", { text: "" });
  }

  function td(content, className) {
    var cell = el("td", className ? { className: className } : {});
    if (content instanceof Node) cell.appendChild(content);
    else cell.textContent = content == null ? "" : String(content);
    return cell;
  }

  function fill(tableId, rows, emptyText, columns) {
    var body = $(tableId).tBodies[0];
    body.replaceChildren();
    if (!rows.length) {
      body.appendChild(el("tr", {}, [el("td", { colspan: String(columns), className: "empty",
                                                 text: emptyText })]));
      return;
    }
    rows.forEach(function (row) { body.appendChild(row); });
  }

  // ---- the views --------------------------------------------------------------------------
  function agencyRows(items) {
    var sorted = items.slice().sort(function (a, b) {
      return (b.overdue - a.overdue) || (b.stalled - a.stalled) ||
        String(a.agency_name || "").localeCompare(String(b.agency_name || ""));
    });
    return sorted.map(function (a) {
      var onTime = a.completed_on_time_pct == null
        ? el("span", { text: "none completed", className: "muted" })
        : el("span", { text: a.completed_on_time_pct + "% (" + a.completed_on_time + " of " +
                       a.completed + ")" });
      var name = a.agency_name || a.agency_id;
      if (a.agency_status && a.agency_status !== "active") name += " (" + a.agency_status + ")";
      return el("tr", { className: a.overdue > 0 ? "behind" : "" }, [
        el("th", { scope: "row", text: name }),
        td(a.open, "num"),
        td(a.overdue, "num" + (a.overdue > 0 ? " bad" : "")),
        td(a.stalled, "num" + (a.stalled > 0 ? " warn" : "")),
        td(a.escalated, "num"),
        td(a.held_to_account, "num"),
        td(a.challenges_open, "num"),
        td(onTime, "num"),
      ]);
    });
  }

  function deadlineStatus(d) {
    if (d.status === "missed") {
      return el("strong", { className: "status missed",
                            text: "missed by " + workingDays(d.working_days_late || 0) });
    }
    if (d.status === "met") {
      return el("span", { className: "status met",
                          text: "met" + (d.done_on ? " on " + dateText(d.done_on) : "") });
    }
    return el("span", { className: "status " + d.status, text: d.status });
  }

  function deadlineList(deadlines) {
    if (!deadlines.length) return el("span", { className: "muted", text: "none" });
    return el("ul", { className: "deadlines" }, deadlines.map(function (d) {
      return el("li", { className: d.status === "missed" ? "missed" : "", title: d.description },
        [el("span", { className: "dl-name", text: words(d.name) }),
         el("span", { className: "dl-due", text: " due " + dateText(d.due_on) + ": " }),
         deadlineStatus(d)]);
    }));
  }

  function reviewRows(items) {
    return items.map(function (r) {
      return el("tr", { className: r.deadlines_missed > 0 ? "has-missed" : "" }, [
        el("th", { scope: "row", text: r.reference }),
        td(r.local_authority_area),
        td(words(r.stage) + (r.publication_deferred ? " (publication deferred)" : "")),
        td(deadlineList(r.deadlines)),
        td(r.deadlines_missed, "num" + (r.deadlines_missed > 0 ? " bad" : "")),
      ]);
    });
  }

  function challengeRows(items) {
    return items.map(function (c) {
      var raised = el("span", {}, [dateEl(c.raised_on),
        el("span", { className: "muted",
                     text: " by " + c.raised_by_name + " (" + words(c.raised_by_role) + ")" })]);
      return el("tr", {}, [
        el("th", { scope: "row", text: c.addressed_to_name || c.addressed_to }),
        td(raised),
        td(words(c.subject_type)),
        td("Stage " + c.stage + ": " + c.stage_name),
        td(dateEl(c.stage_entered_on)),
        td(c.stage_waited_working_days, "num"),
        td(c.awaiting_response ? "Yes" : "No"),
      ]);
    });
  }

  function themeRows(items) {
    return items.map(function (t) {
      return el("tr", {}, [
        el("th", { scope: "row", text: words(t.theme) }),
        td(t.review_count, "num"),
        td(t.finding_count, "num"),
      ]);
    });
  }

  // The Board's views filter by the chosen partnership (a Board member who belongs to some
  // reads only theirs whatever is chosen here: the API scopes it).
  function scoped(path, partnership) {
    if (!partnership) return path;
    return path + (path.indexOf("?") < 0 ? "?" : "&") + "partnership=" +
      encodeURIComponent(partnership);
  }

  async function loadPartnerships(token) {
    var select = $("partnership");
    var chosen = select.value;
    try {
      var body = await getJson("/partnerships", token);
      select.replaceChildren(el("option", { value: "", text:
        "All partnerships you may read" }));
      body.items.forEach(function (p) {
        select.appendChild(el("option", { value: p.name, text: p.name }));
      });
      select.value = body.items.some(function (p) { return p.name === chosen; }) ? chosen : "";
    } catch (e) { /* the views still load unfiltered; their own errors are shown there */ }
  }

  var VIEWS = [
    { id: "agencies", path: "/board/agencies", paged: false, columns: 8, byPartnership: true,
      empty: "No agencies are registered.", rows: agencyRows },
    { id: "reviews", path: "/board/reviews?limit=1000", paged: true, columns: 5,
      byPartnership: true,
      empty: "No reviews are recorded.", rows: reviewRows },
    { id: "challenges", path: "/board/challenges?status=open&limit=1000", paged: true,
      byPartnership: true,
      columns: 7, empty: "No challenge is open.", rows: challengeRows },
    { id: "themes", path: "/board/themes?recurrent=true", paged: false, columns: 3,
      byPartnership: true,
      empty: "No theme recurs in two or more reviews yet.", rows: themeRows },
  ];

  // ---- messages and state -----------------------------------------------------------------
  function showMessage(text, kind) {
    var box = $("message");
    box.textContent = text;
    box.className = "message " + (kind || "error");
    box.hidden = !text;
  }

  function authMessage(error) {
    if (error.status === 401) {
      return "Your token was not accepted: " + error.detail + ". Check that you pasted the " +
        "whole token, or ask the SCB manager for a new one.";
    }
    return "This token may not read the Board's views: " + error.detail + ".";
  }

  function sectionError(id, error) {
    var p = document.querySelector('.error[data-for="' + id + '"]');
    if (!error) { p.hidden = true; p.textContent = ""; return; }
    p.textContent = error.status
      ? "This view could not be loaded (HTTP " + error.status + "): " + error.detail + "."
      : "This view could not be loaded: " + error.detail + ". Press Refresh to try again.";
    p.hidden = false;
  }

  function clearViews() {
    VIEWS.forEach(function (v) { $(v.id).tBodies[0].replaceChildren(); sectionError(v.id); });
    $("position").textContent = "";
    $("views").hidden = true;
  }

  function showSignedIn(signedIn) {
    $("signin").hidden = signedIn;
    $("signedin").hidden = !signedIn;
  }

  function signOut(text, kind) {
    generation++;
    sessionStorage.removeItem(TOKEN_KEY);
    clearViews();
    showSignedIn(false);
    showMessage(text || "", kind);
    $("token").focus();
  }

  async function describePosition(positions, today) {
    var least = Math.min.apply(null, positions);
    var text = "These views reflect the ledger up to log position " + least +
      (today ? ", for today, " + dateText(today) : "") + ".";
    try {
      var ready = await (await fetch("/readyz", { cache: "no-store" })).json();
      if (typeof ready.head_position === "number" && ready.head_position > least) {
        text += " The log now holds " + ready.head_position + " events; " +
          (ready.head_position - least) + " are not reflected yet: press Refresh shortly.";
      }
    } catch (e) { /* the lag is a courtesy; the position above is what matters */ }
    return text;
  }

  async function describeCheckpoint(token) {
    try {
      // The list answers 200 with no checkpoint yet (latest would be a 404 in the console).
      var list = (await getJson("/integrity/checkpoints", token)).checkpoints;
      if (!list.length) return " No checkpoint has been signed yet.";
      var cp = list[list.length - 1];
      var who = cp.cosigned_by.length ? "cosigned by the witnesses " + cp.cosigned_by.join(", ")
        : "not yet cosigned by any witness";
      return " The latest signed checkpoint (" + cp.origin + ", size " + cp.size + ") is " +
        who + ".";
    } catch (e) { return ""; } /* none yet, or not readable: the views stand alone */
  }

  async function load() {
    var token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) { signOut(); return; }
    var mine = ++generation;
    showSignedIn(true);
    showMessage("Loading the Board's views…", "info");
    await loadPartnerships(token);
    if (mine !== generation) return;
    var partnership = $("partnership").value;
    var results = await Promise.allSettled(VIEWS.map(function (v) {
      var path = v.byPartnership ? scoped(v.path, partnership) : v.path;
      return v.paged ? allPages(path, token) : getJson(path, token);
    }));
    if (mine !== generation) return; // signed out (or reloaded) meanwhile
    var denied = results.find(function (r) {
      return r.status === "rejected" && (r.reason.status === 401 || r.reason.status === 403);
    });
    if (denied) {
      if (denied.reason.status === 401) signOut(authMessage(denied.reason));
      else { clearViews(); showMessage(authMessage(denied.reason)); }
      return;
    }
    var positions = [];
    var today = null;
    results.forEach(function (result, i) {
      var view = VIEWS[i];
      if (result.status === "rejected") {
        var reason = result.reason instanceof ApiError ? result.reason
          : new ApiError(0, String(result.reason));
        $(view.id).tBodies[0].replaceChildren();
        sectionError(view.id, reason);
        return;
      }
      sectionError(view.id);
      fill(view.id, view.rows(result.value.items), view.empty, view.columns);
      positions.push(result.value.position);
      today = today || result.value.today;
      if (view.id === "agencies") $("stalled-days").textContent = result.value.stalled_days;
    });
    $("views").hidden = false;
    showMessage("");
    var failed = results.filter(function (r) { return r.status === "rejected"; }).length;
    if (failed === results.length) {
      showMessage("The ledger could not answer. Press Refresh to try again.");
    }
    if (positions.length) {
      var text = await describePosition(positions, today) + await describeCheckpoint(token);
      if (mine === generation) $("position").textContent = text;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("signin").addEventListener("submit", function (event) {
      event.preventDefault();
      var token = $("token").value.trim();
      $("token").value = "";
      if (!token) { showMessage("Enter your access token."); return; }
      sessionStorage.setItem(TOKEN_KEY, token);
      load();
    });
    $("refresh").addEventListener("click", load);
    $("partnership").addEventListener("change", load);
    $("signout").addEventListener("click", function () {
      signOut("Signed out: the token was removed from this tab.", "info");
    });
    if (sessionStorage.getItem(TOKEN_KEY)) load();
  });
})();
