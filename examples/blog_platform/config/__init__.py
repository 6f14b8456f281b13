"""Configuration of the blog platform: settings.py, spoc.toml, .env."""
