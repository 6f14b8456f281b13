"""Contracts: payload schemas, structured results and operations."""
from .operation import Operation, OperationError
from .outcome import Outcome, OutcomeError
from .schema import Field, FieldNames, Schema, SchemaError

__all__ = ["Field", "FieldNames", "Operation", "OperationError", "Outcome", "OutcomeError",
           "Schema", "SchemaError"]
