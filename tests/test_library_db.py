"""The library database on SQLite and on a real PostgreSQL: migrations, sessions, lexicons."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from harness.postgres_server import PostgresServer
from service.config import Settings
from service.db import Database, database_url, open_database
from service.db.lexicons import (
    delete_lexicon,
    get_lexicon,
    lexicon_digest,
    lexicon_for_host,
    list_lexicons,
    put_lexicon,
)
from service.db.migrate import check_current, head_revision, upgrade
from service.errors import (
    DatabaseError,
    LexiconConflictError,
    LexiconNotFoundError,
    ListenError,
)
from service.text.lexicon.model import Lexicon, parse_lexicon


def _lexicon(name: str, sites: list[str] | None = None, rules: int = 2) -> Lexicon:
    data = [
        {"match": "NATO", "say": "North Atlantic Treaty Organization"},
        {"match": "Paganini", "ipa": "pɑɡəˈniːni", "say": "Pa ga nini"},
        {"match": r"v\d+", "regex": True, "ignore_case": True, "say": "version"},
    ][:rules]
    return parse_lexicon({"rules": data, "sites": sites or [], "language": "en-US"}, name)


@pytest.fixture
def database(database_url: str, tmp_path: Path) -> Database:
    settings = Settings.from_env({}, cache_dir=tmp_path, database_url=database_url)
    found = open_database(settings, migrate=True)
    yield found
    found.dispose()


def test_db_lexicon_put_get_list_delete(database: Database) -> None:
    news = _lexicon("news", ["example.com"], rules=3)
    with database.session() as session:
        assert put_lexicon(session, news) is True
        assert put_lexicon(session, _lexicon("other")) is True
    with database.session() as session:
        assert get_lexicon(session, "news") == news
        assert lexicon_digest(session, "news") == news.digest
        summaries = list_lexicons(session)
    assert [(s.name, s.rule_count, s.sites) for s in summaries] == [
        ("news", 3, ("example.com",)),
        ("other", 2, ()),
    ]
    replaced = _lexicon("news", ["example.org"], rules=1)
    with database.session() as session:
        assert put_lexicon(session, replaced) is False
    with database.session() as session:
        assert get_lexicon(session, "news") == replaced
        delete_lexicon(session, "news")
    with database.session() as session:
        assert [s.name for s in list_lexicons(session)] == ["other"]
        with pytest.raises(LexiconNotFoundError, match="no lexicon is called 'news'"):
            get_lexicon(session, "news")
        with pytest.raises(LexiconNotFoundError):
            delete_lexicon(session, "news")


def test_db_holds_ten_thousand_rules_in_order(database: Database) -> None:
    rules = [{"match": f"Term{i}", "say": f"term {i}"} for i in range(10_000)]
    big = parse_lexicon(rules, "big")
    with database.session() as session:
        put_lexicon(session, big)
    with database.session() as session:
        assert get_lexicon(session, "big") == big


def test_db_site_finds_the_most_specific_lexicon(database: Database) -> None:
    with database.session() as session:
        put_lexicon(session, _lexicon("whole", ["example.com"]))
        put_lexicon(session, _lexicon("sport", ["sport.example.com"]))
    with database.session() as session:
        assert lexicon_for_host(session, "www.example.com").name == "whole"  # type: ignore[union-attr]
        assert lexicon_for_host(session, "live.sport.EXAMPLE.com").name == "sport"  # type: ignore[union-attr]
        assert lexicon_for_host(session, "example.org") is None
        assert lexicon_for_host(session, "") is None


def test_db_a_site_belongs_to_one_lexicon_and_nothing_changes_on_conflict(
    database: Database,
) -> None:
    with database.session() as session:
        put_lexicon(session, _lexicon("first", ["example.com"]))
    with (
        pytest.raises(LexiconConflictError, match=r"example\.com already belongs to the lexicon"),
        database.session() as session,
    ):
        put_lexicon(session, _lexicon("second", ["news.example.org", "example.com"]))
    with database.session() as session:
        assert [s.name for s in list_lexicons(session)] == ["first"]


def test_db_failed_block_rolls_back(database: Database) -> None:
    with pytest.raises(ListenError), database.session() as session:
        put_lexicon(session, _lexicon("news"))
        raise ListenError("stop")
    with database.session() as session:
        assert list_lexicons(session) == []


def test_db_concurrent_writers_all_succeed(database: Database) -> None:
    failures: list[BaseException] = []

    def write(number: int) -> None:
        try:
            for round_number in range(5):
                with database.session() as session:
                    put_lexicon(session, _lexicon(f"writer{number}", rules=1 + round_number % 2))
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    with database.session() as session:
        assert len(list_lexicons(session)) == 4


def test_db_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    database = open_database(Settings.from_env({}, cache_dir=tmp_path / "cache"))
    try:
        assert Path(database.url.database or "") == tmp_path / "cache" / "library.db"
        with database.session() as session:
            assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
            put_lexicon(session, _lexicon("news", ["example.com"]))
        with database.session() as session:
            delete_lexicon(session, "news")  # rules and sites go with it (ON DELETE CASCADE)
            assert session.execute(text("SELECT count(*) FROM lexicon_rules")).scalar() == 0
            assert session.execute(text("SELECT count(*) FROM lexicon_sites")).scalar() == 0
    finally:
        database.dispose()


def test_db_shared_database_needs_listen_db_upgrade(postgres: PostgresServer) -> None:
    url = postgres.create_database()
    try:
        settings = Settings.from_env({}, database_url=url)
        with pytest.raises(DatabaseError, match=r"needs migrating .*run `listen db upgrade`"):
            open_database(settings)
        database = Database(database_url(settings))
        assert upgrade(database) == (None, head_revision())
        assert upgrade(database) == (head_revision(), head_revision())
        check_current(database)
        database.dispose()
        open_database(settings).dispose()
    finally:
        postgres.drop_database(url)


def test_db_schema_revision_is_the_newest_migration() -> None:
    from service.db.database import SCHEMA_REVISION

    assert head_revision() == SCHEMA_REVISION


def test_db_newer_schema_is_refused(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'fffffff'"))
    with pytest.raises(DatabaseError, match="migrated by a newer version"):
        check_current(database)


def test_db_unreachable_or_bad_url_is_one_clear_error(postgres: PostgresServer) -> None:
    from harness.ports import free_port

    port = free_port()
    settings = Settings.from_env({}, database_url=f"postgresql://u:secret@127.0.0.1:{port}/x")
    with pytest.raises(DatabaseError) as caught:
        open_database(settings)
    assert "secret" not in str(caught.value)
    assert "\n" not in str(caught.value)
    assert f"127.0.0.1:{port}" in str(caught.value)
    with pytest.raises(ListenError, match="use sqlite:// or postgresql://"):
        database_url(Settings.from_env({}, database_url="mysql://db/x"))
    with pytest.raises(ListenError, match="is not a database URL"):
        database_url(Settings.from_env({}, database_url="not a url"))
