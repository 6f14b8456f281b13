"""
Database management utilities.

Provides a simple in-memory database simulation for the example.
In production, this would connect to a real database.
"""

from typing import Any, Dict, List


class Database:
    """Simple in-memory database for demonstration purposes."""

    def __init__(self):
        """Initialize the database with empty tables."""
        self._tables: Dict[str, List[Dict[str, Any]]] = {
            "users": [],
            "posts": [],
            "comments": [],
        }
        self._sequences: Dict[str, int] = {
            "users": 1,
            "posts": 1,
            "comments": 1,
        }

    def insert(self, table: str, data: Dict[str, Any]) -> int:
        """
        Insert a record into a table.

        Args:
            table: Name of the table
            data: Record data to insert

        Returns:
            The ID of the inserted record
        """
        record_id = self._sequences[table]
        self._sequences[table] += 1
        record = {"id": record_id, **data}
        self._tables[table].append(record)
        return record_id

    def find_by_id(self, table: str, record_id: int) -> Dict[str, Any] | None:
        """
        Find a record by ID.

        Args:
            table: Name of the table
            record_id: ID of the record to find

        Returns:
            The record if found, None otherwise
        """
        for record in self._tables[table]:
            if record["id"] == record_id:
                return record
        return None

    def find_all(self, table: str) -> List[Dict[str, Any]]:
        """
        Get all records from a table.

        Args:
            table: Name of the table

        Returns:
            List of all records in the table
        """
        return self._tables[table].copy()

    def clear(self):
        """Clear all data from the database."""
        for table in self._tables:
            self._tables[table].clear()
            self._sequences[table] = 1


# Global database instance
db = Database()
