"""Alembic environment of the blog platform, run by Flask-Migrate.

The engine and the models' metadata come from the running Flask app
(``current_app.extensions["migrate"]``), so there is one database URL: the
app's. Unlike Flask-Migrate's template, this file does not reconfigure
logging (``fileConfig`` would disable the loggers of the runtime, which
applies migrations inside a running process).
"""
from __future__ import annotations

from alembic import context
from flask import current_app

config = context.config
migrate_ext = current_app.extensions["migrate"]
engine = migrate_ext.db.engine
config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
target_metadata = migrate_ext.db.metadata
options = dict(migrate_ext.configure_args)


def run_migrations_offline() -> None:
    """``flask db upgrade --sql``: print the SQL instead of running it."""
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, **options)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty(ctx, revision, directives):  # type: ignore[no-untyped-def]
        """``flask db migrate`` without model changes writes no empty revision."""
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []

    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          process_revision_directives=skip_empty, **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
