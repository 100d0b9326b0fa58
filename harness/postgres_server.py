"""Start a real PostgreSQL (Debian's ``postgresql`` package) on a free loopback port for tests.

``initdb`` makes a throw-away cluster in a temporary folder and ``pg_ctl``
runs it on 127.0.0.1 only, with its socket in that folder and durability off
(tests need speed, not crash safety). PostgreSQL refuses to run as root, so
under root both run as an unprivileged user (``postgres`` when the package
made it, else ``nobody``) that owns the folder. ``scripts/system-deps test``
installs the package on a fresh machine.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.ports import free_port

SUPERUSER = "listen"


def postgres_bin() -> Path:
    """Return the newest installed PostgreSQL's ``bin`` folder."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name),
    )
    if not found:
        raise RuntimeError("PostgreSQL is missing: run scripts/system-deps test")
    return Path(found[-1]).parent


def _unprivileged_user() -> pwd.struct_passwd | None:
    """Return the user to run PostgreSQL as, or None to run as ourselves (not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root, and there is no postgres or nobody user to run as")


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, listening on a free loopback port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.bin = postgres_bin()
        self.user = _unprivileged_user()

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        as_user = self.user is not None
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=self.folder,
            env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8"},
            user=self.user.pw_uid if self.user is not None else None,
            group=self.user.pw_gid if self.user is not None else None,
            extra_groups=[] if as_user else None,
        )

    @property
    def data_dir(self) -> Path:
        """Return the cluster's folder."""
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        """Return the URL of ``database`` on this server."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Make the cluster and start the server; return once it accepts connections."""
        if self.user is not None:
            os.chown(self.folder, self.user.pw_uid, self.user.pw_gid)
        made = self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed: {made.stderr or made.stdout}")
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        started = self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.folder / "postgres.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        if started.returncode != 0:
            log = (self.folder / "postgres.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr}{log}")

    def stop(self) -> None:
        """Stop the server at once."""
        if self.data_dir.exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop")

    def create_database(self) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = f"test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database`, closing its connections."""
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Run PostgreSQL on a free port until the block ends."""
    folder = Path(tempfile.mkdtemp(prefix="postgres-"))
    server = PostgresServer(folder)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
