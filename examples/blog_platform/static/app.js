/*
 * The blog platform's page, on top of the HTML the server rendered.
 *
 * Forms: every <form data-api="METHOD /path"> is sent to the JSON API with
 * the page's login cookie and its CSRF token (X-CSRF-Token, from
 * <meta name="csrf-token">). A 400 answer's "errors" are shown next to
 * their fields (data-error-for="field"); any other error (401, 403, 404,
 * 409...) under the form. data-then says what to do on success.
 *
 * Live: Socket.IO events make the page fetch the server-rendered fragment of
 * what changed (/fragments/posts/<id>, /fragments/feed, /fragments/drafts),
 * so every post is rendered by the same Jinja template as the first paint:
 *   post_published   -> the post appears at the top of page 1
 *   post_updated     -> the post is redrawn
 *   comment_added    -> "n comments awaiting moderation" (the author sees
 *                       the comment with an Approve button)
 *   comment_approved -> the comment appears under its post
 *   server_shutdown  -> "server restarting"; after any reconnection the
 *                       feed is fetched again, so nothing missed stays missing
 * The status pill says honestly whether the page is live.
 */
(function () {
  "use strict";

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var statusEl = document.getElementById("status");
  var SAFE = { GET: true, HEAD: true };

  function setStatus(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  function api(method, path, body) {
    var headers = { Accept: "application/json" };
    if (!SAFE[method]) headers["X-CSRF-Token"] = csrfMeta.content;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, {
      method: method, credentials: "same-origin", headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () {
        return { error: "the server answered " + response.status + " " + response.statusText };
      }).then(function (data) { return { status: response.status, data: data }; });
    }, function () {
      return { status: 0, data: { error: "the server cannot be reached; check the connection and try again." } };
    });
  }

  /* A server-rendered fragment as a DOM element (null when gone: 404). */
  function fragment(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) return null;
      return response.text().then(function (html) {
        var holder = document.createElement("template");
        holder.innerHTML = html.trim();
        return holder.content.firstElementChild;
      });
    }, function () { return null; });
  }

  /* Replace `old` by `fresh`, keeping what the user was typing (fields
     changed from their rendered value) and the focus. */
  function swap(old, fresh) {
    var active = document.activeElement;
    var activeId = active && old.contains(active) ? active.id : null;
    old.querySelectorAll("input[id], textarea[id]").forEach(function (field) {
      var twin = fresh.querySelector("#" + CSS.escape(field.id));
      if (twin && field.value !== field.defaultValue && field.type !== "password") twin.value = field.value;
    });
    old.querySelectorAll("details[open]").forEach(function (details, index) {
      var twin = fresh.querySelectorAll("details")[index];
      if (twin) twin.open = true;
    });
    old.replaceWith(fresh);
    if (activeId) {
      var again = document.getElementById(activeId);
      if (again) again.focus();
    }
  }

  function flash(node) {
    node.classList.add("fresh");
    setTimeout(function () { node.classList.remove("fresh"); }, 2500);
  }

  function feedOnFirstPage() {
    var feed = document.getElementById("feed");
    return feed && feed.dataset.page === "1" ? feed : null;
  }

  /* Redraw post `id` wherever it is shown; with `insert`, add it to page 1. */
  function refreshPost(id, insert) {
    var shown = document.querySelectorAll('article.post[data-post-id="' + id + '"]');
    var feed = feedOnFirstPage();
    if (!shown.length && !(insert && feed)) return Promise.resolve();
    return fragment("/fragments/posts/" + id).then(function (fresh) {
      if (!fresh) return;
      shown = document.querySelectorAll('article.post[data-post-id="' + id + '"]');
      if (shown.length) {
        shown.forEach(function (old, index) { swap(old, index ? fresh.cloneNode(true) : fresh); });
      } else if (insert && feed) {
        document.getElementById("posts").prepend(fresh);
        document.getElementById("empty").hidden = true;
        var total = Number(feed.dataset.total || 0) + 1;
        feed.dataset.total = String(total);
        document.getElementById("post-total").textContent = total + " published";
        flash(fresh);
      }
    });
  }

  function refreshSection(id, url) {
    var old = document.getElementById(id);
    if (!old) return Promise.resolve();
    return fragment(url).then(function (fresh) { if (fresh) swap(old, fresh); });
  }

  function refreshFeed() {
    var feed = document.getElementById("feed");
    return feed ? refreshSection("feed", "/fragments/feed?page=" + (feed.dataset.page || "1")) : Promise.resolve();
  }

  // ------------------------------------------------------------------ forms
  function formBody(form, submitter) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.tagName === "BUTTON") return;
      body[field.name] = field.value;
    });
    if (submitter && submitter.name) body[submitter.name] = submitter.value === "true";
    return body;
  }

  function clearErrors(form) {
    form.querySelectorAll("[data-error-for]").forEach(function (slot) { slot.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach(function (field) { field.removeAttribute("aria-invalid"); });
    var ok = form.querySelector("[data-ok]");
    if (ok) ok.textContent = "";
  }

  var STATUS_HINTS = {
    401: "Please log in first.",
    403: "You are not allowed to do that.",
    404: "It does not exist (any more).",
    409: "That conflicts with the current state."
  };

  function showErrors(form, status, data) {
    var unplaced = [];
    Object.keys((data && data.errors) || {}).forEach(function (name) {
      var slot = form.querySelector('[data-error-for="' + name + '"]');
      var field = form.elements.namedItem(name);
      if (slot) {
        slot.textContent = data.errors[name];
        if (field && field.setAttribute) field.setAttribute("aria-invalid", "true");
      } else {
        unplaced.push(name + ": " + data.errors[name]);
      }
    });
    var general = form.querySelector('[data-error-for="_form"]');
    var placed = data && data.errors && Object.keys(data.errors).length > unplaced.length;
    if (general && (!placed || unplaced.length)) {
      var message = (data && data.error) || STATUS_HINTS[status] || "Something went wrong (" + status + ").";
      general.textContent = unplaced.length ? message + " " + unplaced.join("; ") : message;
    }
    // focus the first invalid field in the form's order, so the keyboard user lands on it
    var first = form.querySelector('[aria-invalid="true"]');
    if (first) first.focus();
  }

  function done(form, message) {
    var ok = form.querySelector("[data-ok]");
    if (ok) ok.textContent = message;
  }

  var THEN = {
    reload: function () { window.location.reload(); },
    login: function (form, result, body) {
      return api("POST", "/api/session", { username: body.username, password: body.password }).then(function (answer) {
        if (answer.status === 200) window.location.reload();
        else showErrors(form, answer.status, answer.data);
      });
    },
    drafts: function (form, result) {
      var post = result.data.post || {};
      form.reset();
      if (form.closest("#write")) done(form, post.published ? "Published." : "Saved as a draft.");
      if (post.published) refreshPost(post.id, true);
      return refreshSection("drafts", "/fragments/drafts");
    },
    post: function (form) {
      form.reset();  // sent: what was typed is no longer a draft to keep
      return refreshPost(form.dataset.postId, false);
    },
    saved: function (form) { done(form, "Saved."); }
  };

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var spec = form.dataset && form.dataset.api;
    if (!spec) return;
    event.preventDefault();
    var parts = spec.split(" ");
    var submitter = event.submitter || null;
    var body = formBody(form, submitter);
    var buttons = form.querySelectorAll("button");
    clearErrors(form);
    buttons.forEach(function (button) { button.disabled = true; });
    var hasBody = parts[0] !== "DELETE" && Object.keys(body).length > 0;
    api(parts[0], parts[1], hasBody ? body : (parts[0] === "DELETE" ? undefined : {}))
      .then(function (result) {
        if (result.status >= 200 && result.status < 300) {
          return THEN[form.dataset.then || "saved"](form, result, body);
        }
        showErrors(form, result.status, result.data);
      })
      .finally(function () {
        buttons.forEach(function (button) { if (button.isConnected) button.disabled = false; });
      });
  });

  // ------------------------------------------------------------- Socket.IO
  if (typeof io !== "function") {
    setStatus("offline", "not live (the Socket.IO client did not load)");
    return;
  }
  setStatus("connecting", "connecting…");
  // long-polling first, then upgraded to a WebSocket; after a restart retry
  // every 0.5-2 s (randomised) rather than backing off to 5 s
  var socket = io({ reconnectionDelay: 500, reconnectionDelayMax: 2000 });
  var restarting = false;
  var connectedBefore = false;

  socket.on("connect", function () {
    restarting = false;
    setStatus("live", "live");
    if (connectedBefore) refreshFeed();  // catch up on what happened while offline
    connectedBefore = true;
  });

  socket.on("server_shutdown", function () {
    restarting = true;
    setStatus("restarting", "server restarting…");
  });

  socket.on("disconnect", function (reason) {
    setStatus(restarting ? "restarting" : "offline",
              restarting ? "server restarting, reconnecting…" : "offline, reconnecting…");
    // the client reconnects by itself after a lost connection, not after a server-side disconnect
    if (reason === "io server disconnect") setTimeout(function () { socket.connect(); }, 1000);
  });

  socket.io.on("reconnect_attempt", function () {
    if (!restarting) setStatus("offline", "offline, reconnecting…");
  });

  window.addEventListener("offline", function () { setStatus("offline", "offline (no network), waiting…"); });

  socket.on("post_published", function (post) { refreshPost(post.id, true); });
  socket.on("post_updated", function (post) { refreshPost(post.id, false); });
  socket.on("comment_added", function (event) { refreshPost(event.post_id, false); });
  socket.on("comment_approved", function (comment) { refreshPost(comment.post_id, false); });
  socket.on("specter_error", function (error) { console.warn("the server refused an event:", error); });
})();
