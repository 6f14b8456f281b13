/*
 * The live page of the blog platform.
 *
 * On every (re)connection it asks the server for the published posts with
 * their approved comments (the "posts:list" event, answered by an
 * acknowledgement), then follows the broadcasts:
 *   post_published   -> the post appears at the top
 *   comment_added    -> "n comments awaiting moderation" under the post
 *   comment_approved -> the comment appears under its post
 *   server_shutdown  -> the status shows the server is restarting; the
 *                       client reconnects (and reloads the list) when it is back
 * User text is always inserted with textContent, never as HTML.
 */
(function () {
  "use strict";

  var postsEl = document.getElementById("posts");
  var emptyEl = document.getElementById("empty");
  var statusEl = document.getElementById("status");
  var postEls = new Map(); // post id -> <article>

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function when(iso) {
    if (!iso) return "";
    var date = new Date(iso);
    return isNaN(date) ? "" : date.toLocaleString();
  }

  function authorName(author) {
    return author.full_name ? author.full_name + " (@" + author.username + ")" : "@" + author.username;
  }

  function setStatus(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  function flash(node) {
    node.classList.add("fresh");
    setTimeout(function () { node.classList.remove("fresh"); }, 2500);
  }

  function renderComment(comment) {
    var item = el("li", "comment");
    item.dataset.commentId = String(comment.id);
    item.appendChild(el("span", "who", authorName(comment.author)));
    item.appendChild(el("span", "when", when(comment.approved_at || comment.created_at)));
    item.appendChild(el("div", "text", comment.text));
    return item;
  }

  function updateCommentHeading(article) {
    var count = article.querySelectorAll("li.comment").length;
    article.querySelector("section.comments h3").textContent = "Comments (" + count + ")";
    article.querySelector(".no-comments").hidden = count > 0;
  }

  function setPending(article, pending) {
    var note = article.querySelector(".pending");
    article.dataset.pending = String(pending);
    note.hidden = pending <= 0;
    note.textContent = pending === 1 ? "1 comment awaiting moderation"
                                     : pending + " comments awaiting moderation";
  }

  function renderPost(post) {
    var article = el("article", "post");
    article.dataset.postId = String(post.id);
    article.appendChild(el("h2", "title", post.title));
    article.appendChild(el("div", "meta", "by " + authorName(post.author) + " · " + when(post.published_at)));
    article.appendChild(el("p", "content", post.content));
    var section = el("section", "comments");
    section.appendChild(el("h3", null, "Comments"));
    section.appendChild(el("p", "no-comments", "No comments yet."));
    var list = el("ul", "comment-list");
    (post.comments || []).forEach(function (comment) { list.appendChild(renderComment(comment)); });
    section.appendChild(list);
    section.appendChild(el("p", "pending"));
    article.appendChild(section);
    updateCommentHeading(article);
    setPending(article, post.pending_count || 0);
    return article;
  }

  function showPost(post, atTop) {
    var old = postEls.get(post.id);
    var article = renderPost(post);
    if (old) {
      postsEl.replaceChild(article, old);
    } else if (atTop) {
      postsEl.insertBefore(article, postsEl.firstChild);
    } else {
      postsEl.appendChild(article);
    }
    postEls.set(post.id, article);
    emptyEl.hidden = postEls.size > 0;
    return article;
  }

  function showAll(posts) {
    postsEl.textContent = "";
    postEls.clear();
    posts.forEach(function (post) { showPost(post, false); });
    emptyEl.hidden = postEls.size > 0;
  }

  // same origin: long-polling first, then upgraded to a WebSocket; after a
  // restart, retry every 0.5-2 s (randomised) rather than backing off to 5 s
  var socket = io({ reconnectionDelay: 500, reconnectionDelayMax: 2000 });
  var restarting = false;

  socket.on("connect", function () {
    restarting = false;
    setStatus("loading", "loading…");
    socket.emit("posts:list", { limit: 50 }, function (answer) {
      if (answer && answer.ok) {
        showAll(answer.posts);
        setStatus("live", "live");
      } else {
        setStatus("offline", "could not load the posts");
      }
    });
  });

  socket.on("server_shutdown", function () {
    restarting = true;
    setStatus("restarting", "server restarting…");
  });

  socket.on("disconnect", function (reason) {
    if (restarting) {
      setStatus("restarting", "server restarting, reconnecting…");
    } else {
      setStatus("offline", "offline, reconnecting…");
    }
    // the client only reconnects by itself after a lost connection, not after a server-side disconnect
    if (reason === "io server disconnect") setTimeout(function () { socket.connect(); }, 1000);
  });

  socket.on("post_published", function (post) {
    flash(showPost(post, true));
  });

  socket.on("comment_added", function (event) {
    var article = postEls.get(event.post_id);
    if (article) setPending(article, event.pending);
  });

  socket.on("comment_approved", function (comment) {
    var article = postEls.get(comment.post_id);
    if (!article || article.querySelector('li.comment[data-comment-id="' + comment.id + '"]')) return;
    var item = renderComment(comment);
    article.querySelector("ul.comment-list").appendChild(item);
    updateCommentHeading(article);
    setPending(article, Math.max(0, Number(article.dataset.pending || 0) - 1));
    flash(item);
  });

  socket.on("specter_error", function (error) { console.warn("server refused an event:", error); });
})();
