"""The migration chain builds exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from tracker.extensions import db
from tracker.search.engine import outside_search_index


def schema_differences() -> list[object]:
    with db.engine.connect() as connection:
        # The search index is made by hand in a migration and has no model: leave it out.
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "render_as_batch": True,
                "include_name": outside_search_index,
            },
        )
        return list(compare_metadata(context, db.metadata))


def test_the_migrated_database_matches_the_models(app):
    # The test database was built by running every migration.
    assert schema_differences() == []


def test_the_chain_goes_down_to_nothing_and_back_up(app):
    downgrade(revision="base")
    with db.engine.connect() as connection:
        tables = set(db.inspect(connection).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade()
    assert schema_differences() == []
