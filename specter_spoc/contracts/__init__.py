"""Contracts: payload schemas, structured results and operations."""
from .errors import HTTPError
from .operation import Operation, OperationError
from .outcome import Outcome, OutcomeError
from .schema import Field, FieldNames, Schema, SchemaError

__all__ = ["Field", "FieldNames", "HTTPError", "Operation", "OperationError", "Outcome", "OutcomeError",
           "Schema", "SchemaError"]
