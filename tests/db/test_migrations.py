"""Migration chain: one head, upgrade from empty, models match, idempotent, isolation enforced."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from rally.db import make_engine
from rally.db.migrate import BASELINE, alembic_config, current, head_revision, upgrade
from rally.db.verify import run_checks


def test_single_head_and_linear_history() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    revisions = list(script.walk_revisions())
    assert revisions[-1].revision == BASELINE
    assert all(len(r._all_down_revisions) <= 1 for r in revisions)


def test_upgrade_from_empty_reaches_head_and_verifies(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        before, after = upgrade(engine)
        assert before.kind == "empty"
        assert after.revision == head_revision()
        with engine.connect() as conn:
            failed = [r.name for r in run_checks(conn) if not r.ok]
        assert failed == []
    finally:
        engine.dispose()


def test_second_upgrade_is_a_no_op(engine: sa.Engine) -> None:
    def snapshot() -> dict[str, list[str]]:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            return {
                t: sorted(str(fk["name"]) for fk in inspector.get_foreign_keys(t))
                + sorted(str(c["name"]) for c in inspector.get_columns(t))
                for t in inspector.get_table_names()
            }

    before = snapshot()
    state_before, state_after = upgrade(engine)
    assert state_before.revision == state_after.revision == head_revision()
    assert snapshot() == before


def test_models_match_migrated_schema(engine: sa.Engine) -> None:
    # `alembic check` raises when autogenerate finds a difference between models and database.
    with engine.begin() as conn:
        command.check(alembic_config(conn))


def test_constraint_names_identical_on_both_backends(db_factory, backend: str) -> None:  # type: ignore[no-untyped-def]
    names = {}
    for name in ("sqlite", "postgresql"):
        url = db_factory.create(name)
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                inspector = sa.inspect(conn)
                names[name] = {
                    (t, str(c["name"]))
                    for t in inspector.get_table_names()
                    for c in (
                        inspector.get_foreign_keys(t)
                        + inspector.get_unique_constraints(t)
                        + inspector.get_check_constraints(t)
                    )
                }
        finally:
            engine.dispose()
            db_factory.drop(url)
    assert names["sqlite"] == names["postgresql"]
    assert all(name.split("_")[0] in {"fk", "uq", "ck"} for _, name in names["sqlite"])


def test_current_reports_revision(engine: sa.Engine) -> None:
    state = current(engine)
    assert state.kind == "rally"
    assert state.revision == head_revision()


def test_a_model_change_without_a_revision_is_caught(engine: sa.Engine) -> None:
    # What `alembic check` compares: the database the revisions built against the models.
    # A column added to the models alone must show up as a difference.
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from rally.db.migrations import include_object
    from rally.models import Base

    changed = sa.MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["teams"].append_column(sa.Column("nickname", sa.String(40)))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        assert compare_metadata(context, Base.metadata) == []
        diff = compare_metadata(context, changed)
    assert [(op[0], op[2], op[3].name) for op in diff] == [("add_column", "teams", "nickname")]


def test_revisions_do_not_import_live_code() -> None:
    # Each revision is frozen: it may use Alembic, SQLAlchemy and the frozen schema modules
    # beside it, never the live models or the application.
    import ast

    from rally.db.state import MIGRATIONS_DIR

    allowed = ("rally.db.migrations.",)
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.startswith("rally"):
                    assert name.startswith(allowed), f"{path.name} imports {name}"
