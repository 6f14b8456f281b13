"""
Users app initialization.

This app handles user authentication, profiles, and user management.
"""
