"""
Shared component registry for the application.

This module defines the component types used across all apps
and provides decorator functions for consistent registration.
"""

from specter_spoc.spoc import Components

# Initialize the component registry with all types
components = Components()

# Register component types
components.add_type("model")
components.add_type("view")
components.add_type("service")
components.add_type("worker")


# Convenience decorator functions
def model(cls):
    """Register a class as a model component."""
    return components.register("model")(cls)


def view(func):
    """Register a function as a view component."""
    return components.register("view")(func)


def service(cls):
    """Register a class as a service component."""
    return components.register("service")(cls)


def worker(cls):
    """Register a class as a worker component."""
    return components.register("worker")(cls)
