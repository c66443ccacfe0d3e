"""The pure parts of the builder: commands, refs, snapshots, release YAML, settings, locks,
buildpack sources, and the filesystem object store."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest

from deis.builder.buildpack import local_folder, parse_source, requested, slug_key
from deis.builder.config import BuilderConfig, parse_duration, parse_size
from deis.builder.dockerfile import exposed_port, image_name
from deis.builder.errors import BuildRefused
from deis.builder.locks import BuildLocks, is_locked
from deis.builder.pipeline import ZERO, chosen_commit
from deis.builder.release_yaml import default_process_types
from deis.builder.snapshot import check_members, slugignore, unpack
from deis.builder.ssh import Refused, parse_command
from deis.objects.filesystem import FilesystemObjects, InvalidKey
from deis.settings import Settings
from tests.coroutines import run as run_coroutine

SHA = "a" * 40


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("git-receive-pack '/myapp.git'", ("git-receive-pack", "myapp")),
        ("git-receive-pack 'myapp.git'", ("git-receive-pack", "myapp")),
        ("git-upload-pack '/my-app2.git'", ("git-upload-pack", "my-app2")),
        ("git receive-pack '/myapp.git'", ("git-receive-pack", "myapp")),
        ("git-receive-pack /myapp.git", ("git-receive-pack", "myapp")),
    ],
)
def test_parse_command(command: str, expected: tuple[str, str]) -> None:
    assert parse_command(command) == expected


@pytest.mark.parametrize(
    "command",
    [
        None,
        "",
        "ls /",
        "git-receive-pack",
        "git-receive-pack '/../etc.git'",
        "git-receive-pack '/a/b.git'",
        "git-receive-pack '/MyApp.git'",
        "git-receive-pack '/myapp'",
        "git-upload-archive '/myapp.git'",
        "git-receive-pack 'unterminated",
        "git-receive-pack '/a.git' extra",
    ],
)
def test_parse_command_refuses(command: str | None) -> None:
    with pytest.raises(Refused):
        parse_command(command)


def test_chosen_commit() -> None:
    assert chosen_commit([(ZERO, SHA, "refs/heads/master")]) == SHA
    assert chosen_commit([(ZERO, SHA, "refs/heads/main")]) == SHA
    with pytest.raises(BuildRefused, match="Pushes to dev are refused"):
        chosen_commit([(ZERO, SHA, "refs/heads/dev")])
    with pytest.raises(BuildRefused, match="Pushes to refs/tags/v1 are refused"):
        chosen_commit([(ZERO, SHA, "refs/tags/v1")])
    with pytest.raises(BuildRefused, match="Deleting master"):
        chosen_commit([(SHA, ZERO, "refs/heads/master")])
    with pytest.raises(BuildRefused):
        chosen_commit([])


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.mark.parametrize(
    "members",
    [
        [_member("/etc/passwd")],
        [_member("a/../../x")],
        [_member("link", tarfile.SYMTYPE, "/etc/passwd")],
        [_member("a/link", tarfile.SYMTYPE, "../../x")],
        [_member("link", tarfile.SYMTYPE, "..")],
        [_member("dir", tarfile.SYMTYPE, "sub"), _member("dir/file")],
        [_member("dev", tarfile.CHRTYPE)],
    ],
)
def test_snapshot_refuses(members: list[tarfile.TarInfo]) -> None:
    with pytest.raises(BuildRefused):
        check_members(members)


def test_snapshot_accepts_links_inside() -> None:
    check_members(
        [
            _member("a", tarfile.DIRTYPE),
            _member("a/b.txt"),
            _member("a/link", tarfile.SYMTYPE, "../c"),
            _member("top", tarfile.SYMTYPE, "a/b.txt"),
        ]
    )


def _tar(path: Path, entries: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w") as tar:
        for info, data in entries:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def test_unpack_refuses_symlink_chains_out(tmp_path: Path) -> None:
    # sub/up -> ..  (the root, inside), sub/out -> up/..  (lexically "sub", really outside)
    tar = _tar(
        tmp_path / "a.tar",
        [
            (_member("sub", tarfile.DIRTYPE), b""),
            (_member("sub/up", tarfile.SYMTYPE, ".."), b""),
            (_member("sub/out", tarfile.SYMTYPE, "up/.."), b""),
        ],
    )
    with pytest.raises(BuildRefused):
        unpack(tar, tmp_path / "dest")


def test_unpack_plain_tree(tmp_path: Path) -> None:
    tar = _tar(tmp_path / "a.tar", [(_member("x/y.txt"), b"hello")])
    unpack(tar, tmp_path / "dest")
    assert (tmp_path / "dest" / "x" / "y.txt").read_text() == "hello"


def test_slugignore(tmp_path: Path) -> None:
    for name in ("a.psd", "keep.txt", "docs/x.md", "src/docs/y.md", "src/b.psd"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    (tmp_path / ".slugignore").write_text("# comment\n*.psd\n/docs\n")
    removed = slugignore(tmp_path)
    assert sorted(removed) == ["a.psd", "docs", "src/b.psd"]
    assert (tmp_path / "src" / "docs" / "y.md").exists()
    assert (tmp_path / "keep.txt").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("--- {}", {}),
        ("---\n", {}),
        ("---\ndefault_process_types:\n  web: npm start\n", {"web": "npm start"}),
        (
            "---\naddons: []\ndefault_process_types:\n  web: 'a b'\n  worker: \"c: d\"\nconfig_vars:\n  X: y\n",
            {"web": "a b", "worker": "c: d"},
        ),
        ("default_process_types: {web: bin/x, worker: y}\n", {"web": "bin/x", "worker": "y"}),
    ],
)
def test_default_process_types(text: str, expected: dict[str, str]) -> None:
    assert default_process_types(text) == expected


def test_sizes_and_durations() -> None:
    assert parse_size("1048576") == 1048576
    assert parse_size("100M") == 100 * 1024**2
    assert parse_size("1GiB") == 1024**3
    assert parse_duration("900") == 900
    assert parse_duration("15m") == 900
    assert parse_duration("1h") == 3600
    with pytest.raises(ValueError):
        parse_size("lots")


def test_config_from_env(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, ssh_port=2200)
    config = BuilderConfig.from_settings(
        settings,
        {
            "DEIS_BUILD_TIMEOUT": "2m",
            "DEIS_MAX_PUSH_SIZE": "10M",
            "DEIS_MAX_BUILDS": "3",
            "DEIS_BUILDS_PER_USER": "2",
            "DEIS_DOCKER_BUILD_ARGS_ENABLED": "1",
            "DEIS_BUILDPACK_DIRS": "/srv/bp:/opt/bp",
        },
    )
    assert config.build_timeout == 120
    assert config.max_push_size == 10 * 1024**2
    assert config.max_builds == 3 and config.builds_per_user == 2
    assert config.docker_build_args
    assert config.ssh_port == 2200
    assert Path("/srv/bp") in config.allowed_buildpack_dirs()
    assert config.host_key == tmp_path / "builder" / "ssh_host_ed25519_key"
    defaults = BuilderConfig.from_settings(settings, {})
    assert (defaults.build_timeout, defaults.max_builds) == (900, 2)
    assert not defaults.docker_build_args


def test_buildpack_sources(tmp_path: Path) -> None:
    assert parse_source("python").kind == "builtin"
    source = parse_source("https://example.com/buildpacks/go.git#v1.2")
    assert (source.kind, source.value, source.ref) == (
        "git",
        "https://example.com/buildpacks/go.git",
        "v1.2",
    )
    assert parse_source("/srv/bp/x").kind == "local"
    with pytest.raises(BuildRefused):
        parse_source("not a url")
    app = tmp_path / "app"
    app.mkdir()
    (app / ".buildpacks").write_text("python\n# comment\nhttps://example.com/x.git\n")
    assert [s.kind for s in requested(app, {})] == ["builtin", "git"]
    assert [s.value for s in requested(app, {"BUILDPACK_URL": "nodejs"})] == ["nodejs"]


def test_local_buildpack_folders(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    (allowed / "bp" / "bin").mkdir(parents=True)
    (allowed / "bp" / "bin" / "compile").write_text("")
    assert local_folder(str(allowed / "bp"), (allowed,)) == (allowed / "bp").resolve()
    with pytest.raises(BuildRefused, match="outside the folders allowed"):
        local_folder(str(allowed / "bp" / ".." / ".."), (allowed,))
    (allowed / "empty").mkdir()
    with pytest.raises(BuildRefused, match="no bin/compile"):
        local_folder(str(allowed / "empty"), (allowed,))


def test_names() -> None:
    assert image_name("myapp", SHA) == "localhost/myapp:git-aaaaaaa"
    assert slug_key("myapp", SHA) == f"slugs/myapp/git-{SHA}.tgz"
    assert exposed_port({"8080/tcp": {}, "9090/tcp": {}}) == 8080
    assert exposed_port({"53/udp": {}}) is None
    assert exposed_port(None) is None


def test_locks(tmp_path: Path) -> None:

    locks = BuildLocks(tmp_path, 1)

    async def waiting(_: str) -> None:
        raise AssertionError("not queued")

    async def scenario() -> None:
        async with locks.build("a", 1e12, waiting):
            assert locks.app_locked("a")
            assert locks.slots_in_use() == 1
            with pytest.raises(BuildRefused, match="already in progress"):
                async with locks.build("a", 1e12, waiting):
                    pass
        assert not locks.app_locked("a")
        assert locks.slots_in_use() == 0

    run_coroutine(scenario())
    assert not is_locked(tmp_path / "app-a.lock")


def test_one_users_extra_build_waits_without_taking_another_users_slot(tmp_path: Path) -> None:
    """DEIS_MAX_BUILDS=2, one build per user: alice's second push waits for her first
    and holds no slot meanwhile, so bob's push starts at once."""
    import asyncio

    locks = BuildLocks(tmp_path, 2)
    assert locks.per_user == 1
    said: list[str] = []

    async def waiting(line: str) -> None:
        said.append(line)

    async def scenario() -> None:
        async with locks.build("a1", 1e12, waiting, user="alice"):
            second = asyncio.ensure_future(_hold(locks, "a2", "alice", waiting))
            await asyncio.sleep(0.3)
            assert not second.done() and locks.slots_in_use() == 1
            async with locks.build("b1", 1e12, waiting, user="bob"):
                assert locks.slots_in_use() == 2 and locks.user_builds("bob") == 1
            assert said == [
                "-----> Queued: you have 1 build running (at most 1 per user,"
                " DEIS_BUILDS_PER_USER); this one starts when one of yours ends"
            ]
        await asyncio.wait_for(second, 5)  # alice's first ended: her second ran
        assert locks.slots_in_use() == 0 and locks.user_builds("alice") == 0

    run_coroutine(scenario())


async def _hold(locks: BuildLocks, app: str, user: str, waiting: Any) -> None:
    async with locks.build(app, 1e12, waiting, user=user):
        pass


def test_filesystem_objects(tmp_path: Path) -> None:
    store = FilesystemObjects(tmp_path)
    key = slug_key("myapp", SHA)
    assert not store.exists(key)
    assert store.put(key, b"slug") == 4
    assert store.exists(key) and store.get(key) == b"slug"
    source = tmp_path / "src.bin"
    source.write_bytes(b"x" * 3000)
    store.put("caches/myapp/c.tgz", source)
    with store.open("caches/myapp/c.tgz") as handle:
        assert handle.read() == b"x" * 3000
    assert store.keys("slugs") == [key]
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(KeyError):
        store.get(key)
    for bad in ("", "/abs", "a/../b", "a//b", "a/.hidden/..", "../x"):
        with pytest.raises(InvalidKey):
            store.path(bad)


def test_app_json_cron_is_read_and_checked_before_the_build(tmp_path: Path) -> None:
    from deis.builder.pipeline import BuildRefused, app_json_cron

    assert app_json_cron(tmp_path) == []  # no app.json
    (tmp_path / "app.json").write_text('{"name": "x"}')
    assert app_json_cron(tmp_path) == []  # no cron section
    (tmp_path / "app.json").write_text(
        '{"cron": [{"command": "python clean.py", "schedule": "@daily"}]}'
    )
    [job] = app_json_cron(tmp_path)
    assert job["name"] == "app-json-1" and job["source"] == "app.json"
    (tmp_path / "app.json").write_text('{"cron": [{"command": "x", "schedule": "99 * * * *"}]}')
    with pytest.raises(BuildRefused, match="app.json: app.json cron entry 1: minute"):
        app_json_cron(tmp_path)
    (tmp_path / "app.json").write_text("{not json")
    with pytest.raises(BuildRefused, match="app.json is not valid JSON"):
        app_json_cron(tmp_path)
