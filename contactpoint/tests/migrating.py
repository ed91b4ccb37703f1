"""Moving the test database between migrations, for the tests that prove a migration both ways."""

from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate_to(targets: list[tuple[str, str]] | None = None) -> Apps:
    """To `targets`, or (None) back to the latest migration of every app, as other tests expect;
    returns the historical models at the state reached."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps
