"""Request bodies and response shapes, for validation and for /openapi.json."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator
from pydantic_core import PydanticCustomError

Scalar = str | int | float | bool | None


def has_lone_surrogate(value: object) -> bool:
    """Whether a JSON value holds text no UTF-8 can carry: a lone UTF-16 surrogate
    (`"\\ud800"`; a proper pair such as `"\\ud83d\\ude00"` decodes to one character)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_lone_surrogate(v) for v in value)
    return False


def refuse_lone_surrogates(value: object) -> object:
    """Refused at the edge (400 on the field): stored, such text breaks every later read
    of it (GET config, deploys); hashed or written, it fails."""
    if has_lone_surrogate(value):
        raise PydanticCustomError(
            "lone_surrogate",
            "Text must be valid Unicode: it holds a lone UTF-16 surrogate (like \\ud800).",
        )
    return value


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _no_lone_surrogates(cls, value: object) -> object:
        return refuse_lone_surrogates(value)


class RegisterIn(Body):
    username: str
    password: str
    email: str
    first_name: str = ""
    last_name: str = ""


class LoginIn(Body):
    username: str
    password: str


class PasswdIn(Body):
    password: str | None = None
    new_password: str
    username: str | None = None


class UsernameIn(Body):
    username: str


class OptionalUsernameIn(Body):
    username: str | None = None


class TokensIn(Body):
    username: str | None = None
    all: bool = False


class AppIn(Body):
    id: str | None = None


class TransferIn(Body):
    owner: str


class ConfigIn(Body):
    values: dict[str, Scalar] | None = None
    memory: dict[str, str | None] | None = None
    cpu: dict[str, str | int | float | None] | None = None
    tags: dict[str, str | None] | None = None
    registry: dict[str, str | None] | None = None
    healthcheck: dict[str, dict[str, Any] | None] | None = None


class BuildIn(Body):
    image: str
    procfile: dict[str, str] | None = None


class RollbackIn(Body):
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class ScaleIn(RootModel[dict[str, int]]):
    @field_validator("root", mode="before")
    @classmethod
    def _no_lone_surrogates(cls, value: object) -> object:
        return refuse_lone_surrogates(value)


class RunIn(Body):
    command: str


class DomainIn(Body):
    domain: str


class CronJobIn(Body):
    """Extension (`deis cron:add`): the core checks every field and names the wrong one."""

    name: Any = None
    schedule: Any = None
    command: Any = None
    tz: Any = None
    timeout: Any = None
    memory: Any = None


class AddonIn(Body):
    """Extension (`deis addons:create SERVICE[:PLAN] [--as NAME]`); the core checks."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    service: Any = None
    as_name: Any = Field(default=None, alias="as")


class AttachIn(Body):
    """Extension (`deis addons:attach NAME -a APP [--as NAME]`)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    as_name: Any = Field(default=None, alias="as")


class PlanIn(Body):
    """Extension (`deis addons:upgrade NAME PLAN`); the core checks."""

    model_config = ConfigDict(extra="ignore")

    plan: Any = None


class BackupScheduleIn(Body):
    """Extension (`deis addons:backups:schedule NAME --at HH:MM [--tz ZONE] [--keep N]`);
    the core checks."""

    model_config = ConfigDict(extra="ignore")

    at: Any = None
    tz: Any = None
    keep: Any = None


class SettingsIn(Body):
    maintenance: bool | None = None
    routable: bool | None = None
    whitelist: list[str] | None = None
    autoscale: dict[str, dict[str, int] | None] | None = None
    label: dict[str, str | None] | None = None


class AddressesIn(Body):
    addresses: list[str]


class TLSIn(Body):
    https_enforced: bool


class CertIn(Body):
    name: str
    certificate: str
    key: str


class KeyIn(Body):
    id: str
    public: str


class HookConfigIn(Body):
    receive_user: str
    receive_repo: str


class HookBuildIn(Body):
    receive_user: str
    receive_repo: str
    sha: str
    image: str
    procfile: dict[str, str] | None = None
    dockerfile: str | None = None
    cron: list[Any] | None = None  # app.json's cron entries (checked by the core)


# Responses (documentation and schema checks; the routes build plain dicts).


class ErrorOut(RootModel[dict[str, str | list[str]]]):
    """`{"detail": "message"}`, or field errors `{"field": ["message"]}`."""


class UserOut(BaseModel):
    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    is_superuser: bool
    is_staff: bool
    is_active: bool
    date_joined: str
    last_login: str | None


class Stamped(BaseModel):
    uuid: str
    owner: str
    created: str
    updated: str


class AppOut(Stamped):
    id: str
    structure: dict[str, int]
    url: str


class BuildOut(Stamped):
    app: str
    image: str
    sha: str
    procfile: dict[str, str]
    dockerfile: str


class BuildAttemptOut(BaseModel):
    """Extension: one push the builder handled, built or not."""

    uuid: str
    app: str
    owner: str
    sha: str
    status: str  # building, succeeded, failed
    started: str
    finished: str | None
    reason: str
    version: int | None


class ConfigOut(Stamped):
    app: str
    values: dict[str, str]
    memory: dict[str, str]
    cpu: dict[str, str]
    tags: dict[str, str]
    registry: dict[str, str]
    healthcheck: dict[str, dict[str, Any]]


class CronRunOut(BaseModel):
    started: str
    finished: str | None
    exit_code: int | None
    duration: float | None
    trigger: str


class CronJobOut(BaseModel):
    name: str
    schedule: str
    command: str
    tz: str
    timeout: int
    memory: str | None
    suspended: bool
    source: str
    next_run: str | None
    last_run: CronRunOut | None


class AddonAttachmentOut(BaseModel):
    app: str
    var: str


class AddonBackupScheduleOut(BaseModel):
    addon: str
    at: str
    tz: str
    keep: int
    last_run: str | None
    next_run: str


class AddonOut(BaseModel):
    name: str
    service: str
    plan: str
    app: str
    owner: str
    state: str
    memory: str
    cpus: float
    connections: int
    disk: str
    disk_used: int | None = None
    attachments: list[AddonAttachmentOut]
    backup_schedule: AddonBackupScheduleOut | None = None


class AddonBackupOut(BaseModel):
    id: str
    addon: str
    service: str
    size: int
    created: str
    owner: str
    scheduled: bool = False


class AddonPlanOut(BaseModel):
    name: str
    memory: str
    cpus: float
    connections: int
    disk: str
    description: str
    default: bool


class AddonServiceOut(BaseModel):
    name: str
    title: str
    var: str
    plans: list[AddonPlanOut]


class ReleaseOut(Stamped):
    app: str
    version: int
    build: str | None
    config: str
    summary: str
    failed: bool
    failure: str = Field(
        "", description="Extension: why the release's deploy failed (what the app printed)."
    )


class KeyOut(Stamped):
    id: str
    public: str
    fingerprint: str


class DomainOut(Stamped):
    app: str
    domain: str


class CertOut(Stamped):
    name: str
    common_name: str
    san: list[str]
    fingerprint: str
    expires: str
    starts: str
    issuer: str
    subject: str
    domains: list[str]
    automatic: bool = False


class TLSAutoDomainOut(BaseModel):
    domain: str
    host: str
    certificate: str | None
    automatic: bool
    issuer: str | None
    expires: str | None
    last_error: str
    last_attempt: str | None
    next_attempt: str | None


class TLSAutoOut(BaseModel):
    app: str
    auto: bool
    directory: str | None
    domains: list[TLSAutoDomainOut]


class SleepIn(Body):
    """ext: how long an app may go without a request before it sleeps. `after`: a
    duration ("30m", "2h", "1d", seconds) or "never"; `default`: back to the platform's;
    `all_types`: the other process types sleep with web."""

    after: str | int | None = None
    default: bool = False
    all_types: bool | None = None


class SleepOut(BaseModel):
    app: str
    after: int  # seconds without a request before the app sleeps; 0: never
    default: bool  # `after` is the platform's default (the app has no setting of its own)
    all_types: bool
    asleep: bool
    since: str | None  # when it fell asleep or last woke


class AppSettingsOut(Stamped):
    app: str
    maintenance: bool
    routable: bool
    whitelist: list[str]
    autoscale: dict[str, dict[str, int]]
    label: dict[str, str]


class TLSOut(Stamped):
    app: str
    https_enforced: bool


class PodOut(BaseModel):
    name: str
    state: str
    type: str
    release: str
    started: str | None
    detail: str | None = None  # a crashed replica's back-off (an extension of ours)


class AdminOut(BaseModel):
    username: str
    is_superuser: bool


class TokenOut(BaseModel):
    # No token when an administrator revoked everyone's (`{"all": true}`): the body is {}.
    token: str | None = None


class VersionOut(BaseModel):
    version: int


class RunOut(BaseModel):
    exit_code: int
    output: str


class UsersOut(BaseModel):
    users: list[str]


class AddressesOut(BaseModel):
    addresses: list[str]


class KeyOwnerOut(BaseModel):
    username: str
    apps: list[str]


class LatencyOut(BaseModel):
    mean: float
    p50: float
    p90: float
    p99: float
    max: float


class MetricsOut(BaseModel):
    requests: int
    statuses: dict[str, int]
    bytes_sent: int
    latency_ms: LatencyOut
    first: float | None  # epoch seconds of the first and last request counted
    last: float | None


class PlatformOut(BaseModel):
    domain: str
    builder: str
    git_http: str
    version: str
    runtime: str
    builder_host_key: str | None = None  # "ssh-ed25519 AAAA...", once the builder made it


def page_of(model: type[BaseModel]) -> type[BaseModel]:
    """The Deis list shape {count, next, previous, results} of a model."""
    return type(
        f"{model.__name__.removesuffix('Out')}List",
        (BaseModel,),
        {
            "__annotations__": {
                "count": int,
                "next": str | None,
                "previous": str | None,
                "results": list[model],  # type: ignore[valid-type]
            }
        },
    )


class PodListOut(RootModel[list[PodOut]]):
    """The pods a restart replaced."""
