/* specter_spoc runtime console: renders the snapshots the server pushes on
   the /_spoc Socket.IO namespace. Plain DOM, no framework, no build step.
   Every text from the server goes through textContent (never innerHTML). */
(function () {
  "use strict";
  var body = document.body;
  var rule = body.dataset.rule;
  var needsToken = body.dataset.needsToken === "true";
  var main = document.getElementById("processes");
  var connection = document.getElementById("connection");
  var summary = document.getElementById("summary");
  var notice = document.getElementById("notice");
  var login = document.getElementById("login");
  var socket = null;
  var actionsEnabled = false;

  // a token may arrive in the URL fragment (never sent to servers): #token=...
  var match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem("spocConsoleToken", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key.indexOf("data-") === 0 || key === "class" || key === "title" || key === "type") node.setAttribute(key, attrs[key]);
      else node[key] = attrs[key];
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function setConnection(state, text) {
    connection.dataset.state = state;
    connection.textContent = text || state;
  }

  function act(request, done) {
    socket.timeout(10000).emit("action", request, function (err, reply) {
      if (err) { notice.hidden = false; notice.textContent = "no answer from the server"; return; }
      if (!reply.ok) { notice.hidden = false; notice.textContent = reply.error; return; }
      notice.hidden = true;
      if (done) done(reply.result);
    });
  }

  function stateBadge(state) { return el("span", {"class": "state", "data-state": state, text: state}); }

  function treeNode(node, local) {
    var label = [el("strong", {"class": "name", text: node.name}), document.createTextNode(" "),
                 el("span", {"class": "kind", text: node.type || ""})];
    if (node.state) {
      label.push(document.createTextNode(" "), stateBadge(node.state));
      if (node.restarts) label.push(el("span", {"class": "kind", text: " restarts " + node.restarts}));
      if (local && actionsEnabled && node.type !== "Runtime" && (node.state === "failed" || node.state === "stopped")) {
        var button = el("button", {"class": "restart", "data-service": node.name, type: "button", text: "restart"});
        button.addEventListener("click", function () { button.disabled = true; act({action: "restart", service: node.name}); });
        label.push(document.createTextNode(" "), button);
      }
    }
    var item = el("li", {"data-node": node.name, "data-state": node.state || ""}, label);
    if (node.last_error && node.state !== "running") item.appendChild(el("span", {"class": "last-error", text: node.last_error}));
    if (node.greenlets && node.greenlets.length) {
      item.appendChild(el("div", {"class": "greenlets", text: node.greenlets.length + " greenlet(s): " + node.greenlets.join(", ")}));
    }
    var owned = (node.owned || []).filter(function (child) { return child.type !== "resource"; });
    if (owned.length) item.appendChild(el("ul", {}, owned.map(function (child) { return treeNode(child, local); })));
    return item;
  }

  function table(headers, rows) {
    if (!rows.length) return el("p", {"class": "empty", text: "none"});
    return el("table", {}, [el("thead", {}, [el("tr", {}, headers.map(function (h) { return el("th", {text: h}); }))]),
                           el("tbody", {}, rows)]);
  }

  function queueRows(queues, local) {
    return queues.map(function (q) {
      var cells = [["name", q.name], ["pending", q.pending], ["in-flight", q.in_flight], ["rate", q.processed_per_s],
                   ["retried", q.retried], ["dead", q.dead_lettered], ["workers", q.workers_alive + "/" + q.workers]];
      var row = el("tr", {"data-queue": q.name}, cells.map(function (c) { return el("td", {"class": c[0], text: String(c[1])}); }));
      var tools = el("td", {});
      if (local && actionsEnabled && q.dead_lettered) {
        ["requeue", "purge"].forEach(function (verb) {
          var button = el("button", {"class": verb, type: "button", text: verb});
          button.addEventListener("click", function () { act({action: verb, queue: q.name}); });
          tools.appendChild(button);
        });
      }
      row.appendChild(tools);
      return row;
    });
  }

  function processSection(snapshot, selfId) {
    var info = snapshot.process || {};
    var local = info.id === selfId;
    var status = snapshot.gone ? "gone" : snapshot.status;
    var section = el("section", {"class": "process" + (snapshot.gone ? " gone" : ""), "data-process": info.id || "",
                                 "data-local": String(local)}, [
      el("h2", {}, [el("span", {text: (info.host || "?") + " pid " + (info.pid || "?")}),
                    el("span", {"class": "status", "data-status": status, text: status}),
                    el("span", {"class": "kind", text: local ? "this process" : (info.mode || "")})])]);
    if (snapshot.gone) {
      section.appendChild(el("p", {"class": "empty", text: (snapshot.stopped ? "shut down" : "stopped reporting") +
        " at " + new Date((snapshot.last_seen || 0) * 1000).toLocaleTimeString()}));
      return section;
    }
    section.appendChild(el("h3", {text: "Ownership tree"}));
    section.appendChild(el("ul", {"class": "tree"}, [treeNode(snapshot.tree, local)]));
    section.appendChild(el("h3", {text: "Queues"}));
    section.appendChild(table(["queue", "pending", "in flight", "processed/s", "retries", "dead", "workers", ""],
                              queueRows(snapshot.queues || [], local)));
    section.appendChild(el("h3", {text: "Socket.IO clients"}));
    var sockets = snapshot.sockets || {};
    section.appendChild(table(["namespace / room", "clients"], Object.keys(sockets).reduce(function (rows, ns) {
      rows.push(el("tr", {"data-namespace": ns}, [el("td", {text: ns}), el("td", {text: String(sockets[ns].clients)})]));
      Object.keys(sockets[ns].rooms).forEach(function (room) {
        rows.push(el("tr", {}, [el("td", {text: "\u00a0\u00a0" + room}), el("td", {text: String(sockets[ns].rooms[room])})]));
      });
      return rows;
    }, [])));
    section.appendChild(el("h3", {text: "Bus events per second"}));
    var bus = snapshot.bus || {};
    section.appendChild(table(["event", "per second"], Object.keys(bus).map(function (name) {
      return el("tr", {"data-event": name}, [el("td", {text: name}), el("td", {text: String(bus[name])})]);
    })));
    section.appendChild(el("h3", {text: "Last errors"}));
    var errors = (snapshot.errors || []).slice().reverse();
    section.appendChild(errors.length ? el("ol", {"class": "errors"}, errors.map(function (e) {
      return el("li", {text: new Date(e.at * 1000).toLocaleTimeString() + " " + e.source + ": " + e.message});
    })) : el("p", {"class": "empty", text: "none"}));
    return section;
  }

  function render(view) {
    actionsEnabled = !!view.actions;
    var processes = view.processes || [];
    var live = processes.filter(function (p) { return !p.gone; }).length;
    summary.textContent = live + " process(es)" + (processes.length > live ? ", " + (processes.length - live) + " gone" : "") +
      " \u00b7 updated " + new Date().toLocaleTimeString();
    main.replaceChildren.apply(main, processes.map(function (p) { return processSection(p, view.self); }));
  }

  function connect() {
    var token = sessionStorage.getItem("spocConsoleToken") || "";
    if (needsToken && !token) { login.hidden = false; setConnection("refused", "token needed"); return; }
    login.hidden = true;
    socket = io("/_spoc", {transports: ["websocket"], auth: {token: token}, reconnectionDelayMax: 3000});
    socket.on("connect", function () { setConnection("live"); });
    socket.on("disconnect", function () { setConnection("down", "disconnected, retrying"); });
    socket.on("connect_error", function (err) {
      if (/unauthorized/.test(err.message)) {
        socket.close();
        sessionStorage.removeItem("spocConsoleToken");
        setConnection("refused", "refused");
        login.hidden = false;
        document.getElementById("login-error").textContent = err.message;
      } else {
        setConnection("down", "unreachable, retrying");
      }
    });
    socket.on("snapshot", render);
  }

  login.addEventListener("submit", function (event) {
    event.preventDefault();
    sessionStorage.setItem("spocConsoleToken", document.getElementById("token").value);
    if (socket) socket.close();
    connect();
  });
  connect();
})();
