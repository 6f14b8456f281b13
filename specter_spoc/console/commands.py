"""CLI commands that look at a *running* process through its console API
(registered on ``specter-spoc`` and ``flask spoc`` by :mod:`specter_spoc.cli`).

    specter-spoc top   --url http://127.0.0.1:5000            # refreshing terminal view
    specter-spoc tree  --url http://127.0.0.1:5000            # the live ownership tree
    specter-spoc queue list    --url ...                      # QueueServices and their counts
    specter-spoc queue dead    NAME --url ...                 # dead letters
    specter-spoc queue requeue NAME [--id ID ...] --url ...   # put them back (all without --id)
    specter-spoc queue purge   NAME [--id ID ...] --url ...   # drop them

``--token`` (or ``SPOC_CONSOLE_TOKEN``) is the console's ``CONSOLE_TOKEN``;
``--rule`` is ``CONSOLE_RULE`` when the app moved the console. The queue
commands also work on a Redis-backed queue *without* a running app:
``--redis redis://... --prefix specter_spoc:queue:<app>`` edits the
dead-letter stream directly.
"""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, TypeVar

import click

__all__ = ["top_command", "tree_command", "queue_group", "LIVE_COMMANDS"]

DEFAULT_RULE = "/_spoc/console"

_F = TypeVar("_F", bound=Callable[..., Any])


class ConsoleClient:
    """The console's JSON API over HTTP (urllib: no extra dependency)."""

    def __init__(self, url: str, token: Optional[str], rule: str = DEFAULT_RULE, timeout: float = 10.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise click.UsageError(f"--url must be the app's base URL like http://127.0.0.1:5000, got {url!r}.")
        self.base: str = url.rstrip("/") + "/" + rule.strip("/")
        self.token = token
        self.timeout = timeout

    def call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        import urllib.error
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode())
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read().decode()).get("error", exc.reason)
            except ValueError:
                message = exc.reason
            if exc.code == 404 and path == "/api/snapshot":
                message = (f"no runtime console at {self.base} (is CONSOLE_ENABLED on, and --rule right?)")
            elif exc.code == 401:
                message = f"{message} (pass --token or set SPOC_CONSOLE_TOKEN)"
            raise click.ClickException(f"{method} {self.base}{path}: HTTP {exc.code}: {message}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise click.ClickException(f"cannot reach {self.base}{path}: {reason}. Is the app running at that "
                                       "URL?") from None


def _client_options(fn: _F) -> _F:
    fn = click.option("--rule", default=DEFAULT_RULE, show_default=True,
                      help="The console's URL path (CONSOLE_RULE).")(fn)
    fn = click.option("--token", envvar="SPOC_CONSOLE_TOKEN", default=None,
                      help="The console token (CONSOLE_TOKEN); or set SPOC_CONSOLE_TOKEN.")(fn)
    return fn


def _url_option(required: bool = True) -> Callable[[_F], _F]:
    return click.option("--url", required=required, default=None,
                        help="Base URL of the running app, e.g. http://127.0.0.1:5000.")


# ------------------------------------------------------------------ rendering
def _tree_lines(node: Dict[str, Any], prefix: str = "", last: bool = True, root: bool = True) -> List[str]:
    state = node.get("state")
    label = f"{node.get('name')} ({node.get('type')})"
    if state:
        label += f" [{state}]"
    if node.get("restarts"):
        label += f" restarts={node['restarts']}"
    if node.get("greenlets"):
        label += f" greenlets={len(node['greenlets'])}"
    lines = [label if root else prefix + ("└─ " if last else "├─ ") + label]
    if node.get("last_error") and state != "running":
        lines.append((prefix + ("   " if last else "│  ") if not root else "   ") + f"! {node['last_error']}")
    children = [c for c in node.get("owned", ()) if c.get("type") != "resource"]
    inner = "" if root else prefix + ("   " if last else "│  ")
    for index, child in enumerate(children):
        lines += _tree_lines(child, inner, index == len(children) - 1, False)
    return lines


def _table(headers: Tuple[str, ...], rows: List[Tuple[Any, ...]]) -> List[str]:
    if not rows:
        return ["  (none)"]
    cells = [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    fmt = "  " + "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return [fmt.format(*headers)] + [fmt.format(*row) for row in cells]


def _queue_rows(queues: List[Dict[str, Any]]) -> List[Tuple[Any, ...]]:
    return [(q["name"], q["pending"], q["in_flight"], q["processed_per_s"], q["retried"], q["dead_lettered"],
             f"{q['workers_alive']}/{q['workers']}") for q in queues]


_QUEUE_HEADERS = ("queue", "pending", "in flight", "processed/s", "retries", "dead", "workers")


def render_view(view: Dict[str, Any]) -> str:
    """The text ``top`` prints for one snapshot view."""
    out: List[str] = []
    for snapshot in view.get("processes", ()):
        info = snapshot.get("process", {})
        here = " (answered)" if info.get("id") == view.get("self") else ""
        if snapshot.get("gone"):
            out.append(f"== {info.get('host')} pid {info.get('pid')}: GONE{here}")
            continue
        out.append(f"== {info.get('host')} pid {info.get('pid')} [{snapshot.get('status')}] "
                   f"{info.get('name')}{here}")
        out += _tree_lines(snapshot["tree"])
        out.append("queues:")
        out += _table(_QUEUE_HEADERS, _queue_rows(snapshot.get("queues", [])))
        sockets = snapshot.get("sockets", {})
        out.append("socket.io clients: " + (", ".join(f"{ns} {info['clients']}" for ns, info in sockets.items())
                                            or "none"))
        bus = snapshot.get("bus", {})
        if bus:
            out.append("bus events/s: " + ", ".join(f"{name} {rate}" for name, rate in bus.items()))
        errors = snapshot.get("errors", [])[-5:]
        if errors:
            out.append("last errors:")
            out += [f"  {time.strftime('%H:%M:%S', time.localtime(e['at']))} {e['source']}: {e['message']}"
                    for e in errors]
        out.append("")
    return "\n".join(out)


# ------------------------------------------------------------------- commands
@click.command("top")
@_url_option()
@_client_options
@click.option("--interval", default=2.0, show_default=True, type=click.FloatRange(min=0.2),
              help="Seconds between refreshes.")
@click.option("--once", is_flag=True, help="Print one snapshot and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print the snapshot as JSON (implies --once).")
def top_command(url: str, token: Optional[str], rule: str, interval: float, once: bool, as_json: bool) -> None:
    """A refreshing terminal view of a running app (every process with Redis)."""
    client = ConsoleClient(url, token, rule)
    if as_json:
        click.echo(json.dumps(client.call("GET", "/api/snapshot"), indent=2, default=str))
        return
    while True:
        text = render_view(client.call("GET", "/api/snapshot"))
        if once:
            click.echo(text)
            return
        click.clear()
        click.echo(f"specter-spoc top  {url}  (every {interval:g}s, Ctrl-C to quit)\n")
        click.echo(text)
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            return


@click.command("tree")
@_url_option()
@_client_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def tree_command(url: str, token: Optional[str], rule: str, as_json: bool) -> None:
    """Print the live ownership tree of the process that answers."""
    tree = ConsoleClient(url, token, rule).call("GET", "/api/tree")
    click.echo(json.dumps(tree, indent=2) if as_json else "\n".join(_tree_lines(tree)))


@click.group("queue")
def queue_group() -> None:
    """List QueueServices, and list, requeue or purge their dead letters."""


@contextmanager
def _dead_source(name: str, redis_url: str, prefix: Optional[str]) -> Iterator[Any]:
    if not prefix:
        raise click.UsageError("--redis needs --prefix: the queue key prefix (QUEUE_REDIS_PREFIX, default "
                               "specter_spoc:queue:<app name>).")
    import redis

    from .deadletters import RedisDeadLetters

    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        yield RedisDeadLetters(client, prefix, name)
    finally:
        client.close()


def _redis_options(fn: _F) -> _F:
    fn = click.option("--prefix", default=None, help="Queue key prefix (with --redis).")(fn)
    fn = click.option("--redis", "redis_url", default=None,
                      help="Edit a Redis-backed queue's dead-letter stream directly, no app needed.")(fn)
    return fn


def _need_url(url: Optional[str], redis_url: Optional[str]) -> None:
    if not url and not redis_url:
        raise click.UsageError("give --url (the running app) or --redis with --prefix (a Redis-backed queue).")


@queue_group.command("list")
@_url_option()
@_client_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def queue_list_command(url: str, token: Optional[str], rule: str, as_json: bool) -> None:
    """The QueueServices of the process that answers, with their counts."""
    queues = ConsoleClient(url, token, rule).call("GET", "/api/queues")["queues"]
    click.echo(json.dumps(queues, indent=2) if as_json else "\n".join(_table(_QUEUE_HEADERS, _queue_rows(queues))))


@queue_group.command("dead")
@click.argument("name")
@_url_option(required=False)
@_client_options
@_redis_options
@click.option("--count", default=100, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def queue_dead_command(name: str, url: Optional[str], token: Optional[str], rule: str, redis_url: Optional[str],
                       prefix: Optional[str], count: int, as_json: bool) -> None:
    """List the dead letters of the QueueService NAME."""
    _need_url(url, redis_url)
    if redis_url:
        with _dead_source(name, redis_url, prefix) as source:
            dead = source.list(count)
    else:
        dead = ConsoleClient(url or "", token, rule).call("GET", f"/api/queues/{name}/dead?count={count}")["dead"]
    if as_json:
        click.echo(json.dumps(dead, indent=2, default=str))
        return
    for entry in dead:
        click.echo(f"{entry['id']}  {json.dumps(entry['item'], default=str)[:80]}  {entry.get('error', '')}")
    click.echo(f"{len(dead)} dead letter(s) in {name}")


def _edit(verb: str, name: str, ids: Tuple[str, ...], url: Optional[str], token: Optional[str], rule: str,
          redis_url: Optional[str], prefix: Optional[str]) -> None:
    _need_url(url, redis_url)
    chosen = list(ids) or None
    if redis_url:
        with _dead_source(name, redis_url, prefix) as source:
            count = source.requeue(chosen) if verb == "requeue" else source.purge(chosen)
    else:
        body = {"ids": chosen} if chosen else {}
        result = ConsoleClient(url or "", token, rule).call("POST", f"/api/queues/{name}/{verb}", body)
        count = result["requeued" if verb == "requeue" else "purged"]
    click.echo(f"{'requeued' if verb == 'requeue' else 'purged'} {count} dead letter(s) of {name}")


@queue_group.command("requeue")
@click.argument("name")
@click.option("--id", "ids", multiple=True, help="A dead letter's id (repeat it); all when omitted.")
@_url_option(required=False)
@_client_options
@_redis_options
def queue_requeue_command(name: str, ids: Tuple[str, ...], url: Optional[str], token: Optional[str], rule: str,
                          redis_url: Optional[str], prefix: Optional[str]) -> None:
    """Put dead letters of NAME back on its queue."""
    _edit("requeue", name, ids, url, token, rule, redis_url, prefix)


@queue_group.command("purge")
@click.argument("name")
@click.option("--id", "ids", multiple=True, help="A dead letter's id (repeat it); all when omitted.")
@_url_option(required=False)
@_client_options
@_redis_options
def queue_purge_command(name: str, ids: Tuple[str, ...], url: Optional[str], token: Optional[str], rule: str,
                        redis_url: Optional[str], prefix: Optional[str]) -> None:
    """Drop dead letters of NAME."""
    _edit("purge", name, ids, url, token, rule, redis_url, prefix)


#: registered on the ``specter-spoc`` group by :mod:`specter_spoc.cli`
LIVE_COMMANDS = (top_command, tree_command, queue_group)
