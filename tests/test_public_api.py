"""Pins the public API: adding or removing a name is a deliberate change."""
from __future__ import annotations

import inspect

import specter_spoc

EXPECTED = {
    "Service", "QueueService", "Watcher", "WatcherError", "ManagedProcess", "start_process",
    "offload", "OffloadError",
    "Controller", "Handler", "SocketIngress", "Router", "route",
    "HTTPError", "json_endpoint", "expect_json", "require_fields",
    "boot", "Runtime", "ServiceManager", "BootError", "create_app", "serve", "load_project",
    "Store", "create_store", "Model", "create_model", "Cache", "create_cache",
    "Schema", "Field", "SchemaError", "Outcome", "Operation", "OperationError",
    "EventBus", "bus", "Registry", "SPECTERRegistry", "registry", "Scope", "current_scope", "signals",
    "SPECTER_COMPAT", "__version__",
}

# SPECTER 0.1.2's __all__: every one of these must exist here, with the same kind of object
SPECTER_NAMES = {
    "Service", "QueueService", "Controller", "ManagedProcess", "start_process", "Watcher", "WatcherError",
    "Outcome", "Operation", "OperationError", "Router", "route", "Handler", "ServiceManager", "SocketIngress",
    "boot", "Model", "create_model", "Store", "create_store", "Cache", "create_cache", "Schema", "Field",
    "SchemaError", "EventBus", "bus", "SPECTERRegistry", "registry", "HTTPError", "json_endpoint",
    "expect_json", "require_fields", "__version__",
}


def test_all_is_exactly_the_pinned_names() -> None:
    assert set(specter_spoc.__all__) == EXPECTED
    for name in specter_spoc.__all__:
        assert hasattr(specter_spoc, name), name


def test_every_specter_name_is_exported() -> None:
    assert SPECTER_NAMES <= set(specter_spoc.__all__)


def test_specter_signatures_are_kept() -> None:
    """Parameters SPECTER code passes by name or position still fit."""
    checks = {
        specter_spoc.Service: ["name", "initial_state"],
        specter_spoc.QueueService: ["name", "worker_count", "maxsize", "poll_interval", "initial_state"],
        specter_spoc.Watcher: ["name", "poll", "stream", "interval", "retry", "max_backoff", "dedupe", "transform"],
        specter_spoc.Router: ["name", "url_prefix", "import_name"],
        specter_spoc.HTTPError: ["message", "status_code", "status", "payload", "log_message", "log_level"],
        specter_spoc.Field: ["type", "required", "default", "choices", "validator", "label"],
        specter_spoc.Schema: ["name", "fields", "strict"],
        specter_spoc.boot: ["app", "socketio", "services", "handlers", "controllers"],
        specter_spoc.ManagedProcess: ["name", "terminate_timeout", "kill_timeout"],
        specter_spoc.create_cache: ["name", "ttl", "depends_on"],
    }
    for obj, names in checks.items():
        params = list(inspect.signature(obj).parameters)
        assert all(n in params for n in names), (obj, params)
    svc = inspect.signature(specter_spoc.Service.subscribe).parameters
    assert list(svc)[1:] == ["fn", "immediate", "owner"]
    assert list(inspect.signature(specter_spoc.Service.spawn).parameters)[:3] == ["self", "callback", "args"]
