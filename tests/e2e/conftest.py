"""The whole house as separate processes: mosquitto, the controller, the Q.rads, HA.

Each piece runs as it does for a user (`python -m homeassistant`,
`python -m simulator`, `python -m simulator.cloud`, mosquitto), on loopback and
the emulated LAN, so that the tests can kill and restart any of them. The tests
act through Home Assistant's REST and WebSocket APIs, as the dashboard and the
mobile app do, and look at the Q.rads and the cloud from outside.

Every test runs twice, once per Home Assistant that matters: the floor that
hacs.json declares (the one the rest of the suite pins) and the newest on PyPI
(.venv-newest, made by scripts/setup). Each house ends with a look at Home
Assistant's log: a warning or error about qrad fails the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile

import pytest
import pytest_socket

from simulator.cloud.access import Directory
from simulator.cloud.mosquitto import Mosquitto
from simulator.fleet import lan_pool
from simulator.house import seed_onboarding
from simulator.identity import make_identities
from simulator.testing import free_port

from .ha_log import qrad_problems, records

REPO = Path(__file__).resolve().parents[2]
SEED = 7
COUNT = 3
SPEED = 60.0
# Not 8080: the other tests put their own emulated Q.rads there.
UNIT_PORT = 8180
HA_PORT = 8123


@dataclass(frozen=True)
class HomeAssistantInstall:
    """One installed Home Assistant: the interpreter that runs it, and its version."""

    python: Path
    version: str


def _installed(venv: str) -> HomeAssistantInstall:
    python = REPO / venv / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{venv} is missing: scripts/setup makes it")
    asks = "from homeassistant.const import __version__; print(__version__)"
    version = subprocess.run(  # noqa: S603
        [python, "-c", asks],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return HomeAssistantInstall(python, version)


@pytest.fixture(scope="package", params=["floor", "newest"])
def home_assistant(request: pytest.FixtureRequest) -> HomeAssistantInstall:
    """The floor hacs.json declares, then the newest Home Assistant on PyPI."""
    if request.param == "newest":
        return _installed(".venv-newest")
    install = _installed(".venv")
    floor = json.loads((REPO / "hacs.json").read_text())["homeassistant"]
    assert install.version == floor, "the tests must run the floor hacs.json declares"
    return install


@dataclass
class House:
    """Handles on every process of the house, and where each listens."""

    home_assistant: HomeAssistantInstall
    workdir: Path
    directory: Directory
    broker_port: int
    ha_port: int
    origin: float
    mosquitto: list[str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    token: str = ""
    # The controller's policy (docs/scheduling.md): 6.8's pi unless a test asks.
    controller_policy: str = "pi"
    # Log records a test provoked on purpose (ha_log.qrad_problems).
    expected_in_log: list[str] = field(default_factory=list)

    @property
    def ha_url(self) -> str:
        """Home Assistant's address."""
        return f"http://127.0.0.1:{self.ha_port}"

    @property
    def broker_url(self) -> str:
        """The broker, as Q.rads and Home Assistant reach it."""
        return f"mqtt://127.0.0.1:{self.broker_port}"

    def unit_url(self, index: int) -> str:
        """The emulated Q.rad number `index`."""
        return f"http://{lan_pool()[index]}:{UNIT_PORT}"

    def start(self, name: str) -> None:
        """Start one of: mosquitto, fleet, controller, homeassistant."""
        commands = {
            "mosquitto": self.mosquitto,
            "fleet": [
                *(sys.executable, "-m", "simulator", "--auto-pair"),
                *("--count", str(COUNT), "--seed", str(SEED), "--speed", str(SPEED)),
                *("--base-port", str(UNIT_PORT), "--history-days", "7"),
                *("--broker", self.broker_url, "--time-origin", str(self.origin)),
            ],
            "controller": [
                *(sys.executable, "-m", "simulator.cloud"),
                *("--directory", str(self.workdir / "directory.json")),
                *("--broker", self.broker_url, "--speed", str(SPEED)),
                *("--time-origin", str(self.origin), "--books-from-meter"),
                *("--policy", self.controller_policy),
            ],
            "homeassistant": [
                *(str(self.home_assistant.python), "-m", "homeassistant"),
                *("--config", str(self.workdir / "config"), "--skip-pip"),
            ],
        }
        log = (self.workdir / f"{name}.log").open("ab")
        # Home Assistant finds qrad in its configuration only (_write_config):
        # neither the path nor the directory it starts in holds the repository.
        ha = name == "homeassistant"
        self.processes[name] = subprocess.Popen(  # noqa: S603
            commands[name],
            cwd=self.workdir if ha else REPO,
            env={**os.environ, **({} if ha else {"PYTHONPATH": str(REPO)})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Stop one process (SIGKILL for a crash) and wait for it."""
        process = self.processes.pop(name)
        process.send_signal(sig)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def broker(self, action: str) -> None:
        """Start, stop or kill (a crash) mosquitto."""
        if action == "start":
            self.start("mosquitto")
            _wait_for_port(self.broker_port)
        else:
            crash = action == "kill"
            self.stop("mosquitto", signal.SIGKILL if crash else signal.SIGTERM)

    def log(self, name: str) -> str:
        """What a process printed, for failure messages."""
        return (self.workdir / f"{name}.log").read_text(errors="replace")[-3000:]


def _wait_for_port(port: int, limit_s: float = 20) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def _write_config(config: Path) -> None:
    """scripts/develop's configuration, and qrad installed from its release zip.

    On Home Assistant's default port: the namespace is private, so 8123 is free;
    another port set in YAML would make Home Assistant ask the user to confirm it.
    qrad comes from the asset scripts/release.py builds, extracted where the
    Marketplace extracts it, so that what is tested is what owners install.
    """
    config.mkdir(parents=True)
    shutil.copy(REPO / "config" / "configuration.yaml", config / "configuration.yaml")
    seed_onboarding(config)
    built = subprocess.run(  # noqa: S603
        [sys.executable, REPO / "scripts" / "release.py", "--output", config.parent],
        check=True,
        capture_output=True,
        text=True,
    )
    with zipfile.ZipFile(built.stdout.strip()) as archive:
        archive.extractall(config / "custom_components" / "qrad")


@pytest.fixture(scope="package")
def house(home_assistant: HomeAssistantInstall) -> Iterator[House]:
    """mosquitto, the controller, three Q.rads and Home Assistant, running.

    Once every test has used it and Home Assistant has stopped, its log must hold
    qrad's own debug lines and no warning or error about qrad.
    """
    if not lan_pool():
        pytest.skip("end-to-end tests need the emulated LAN (scripts/test makes it)")
    if shutil.which("mosquitto", path="/usr/sbin:/usr/bin") is None:
        pytest.skip("mosquitto is not installed")
    # Module fixtures run before the per-test socket permission of conftest.py.
    pytest_socket.enable_socket()
    pytest_socket.socket_allow_hosts(["127.0.0.1", "172.30.0.0/16"])
    # In the repository (git-ignored), not in the sandbox's /tmp, so that the
    # processes' logs outlive a failed run.
    started = time.strftime("%Y%m%d-%H%M%S")
    workdir = REPO / ".cache" / "e2e" / f"{started}-{home_assistant.version}"
    workdir.mkdir(parents=True)
    identities = make_identities(COUNT, SEED)
    directory = Directory.for_fleet(identities, SEED)
    directory.save(workdir / "directory.json")
    ha_port = HA_PORT
    _write_config(workdir / "config")
    broker_port = free_port()
    mosquitto = Mosquitto(directory, workdir / "mosquitto", port=broker_port)
    house = House(
        home_assistant=home_assistant,
        workdir=workdir,
        directory=directory,
        broker_port=broker_port,
        ha_port=ha_port,
        origin=time.time(),
        mosquitto=asyncio.run(mosquitto.prepare()),
    )
    house.broker("start")
    # The Q.rads are plugged in once Home Assistant runs: their own mDNS
    # announcements, not answers to Home Assistant's first queries, make them
    # appear as discovered.
    house.start("controller")
    house.start("homeassistant")
    _wait_for_port(ha_port, limit_s=180)
    house.start("fleet")
    try:
        yield house
    finally:
        for name in list(house.processes):
            house.stop(name)
    log = (workdir / "homeassistant.log").read_text(errors="replace")
    assert any(
        logger.startswith("custom_components.qrad") for _, logger, _ in records(log)
    ), "no record of qrad's in the log: is its format still understood?"
    problems = qrad_problems(log, tuple(house.expected_in_log))
    assert not problems, (
        f"Home Assistant {home_assistant.version} logged about qrad:\n"
        + "\n\n".join(problems)
    )
