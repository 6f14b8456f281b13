"""Relay app: routes that emit, publish on the bus and enqueue, for the cluster tests."""
from specter_spoc.project import AppConfig

app = AppConfig(name="relay", url_prefix="/relay", description="cluster test relay")
