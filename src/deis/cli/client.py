"""The profile file (`~/.deis/client.json`) and the HTTP client that talks to the controller.

The profile keeps the Go client's shape, so both clients can share one:
`{"username", "ssl_verify", "controller", "token", "response_limit"}` in a 0700 directory,
the file itself 0600. `DEIS_PROFILE` or `-c NAME` picks `~/.deis/NAME.json`; a value that looks
like a path (it has a `/` or ends in `.json`) is used as the file itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from deis import API_VERSION, __version__
from deis.cli.errors import CLIError
from deis.cli.output import warn

DEFAULT_RESPONSE_LIMIT = 100
USER_AGENT = f"Deis Client v{__version__}"
NOT_LOGGED_IN = "Not logged in. Use 'deis login' or 'deis register' to get started."
NOT_A_CONTROLLER = (
    "{url} does not appear to be a valid Deis controller.\n"
    "Make sure that the Controller URI is correct, the server is running and\n"
    "your client version is correct."
)


# --- the profile file --------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """One profile: which controller, as whom, and how."""

    controller: str
    username: str = ""
    token: str = ""
    ssl_verify: bool = True
    response_limit: int = DEFAULT_RESPONSE_LIMIT

    @property
    def limit(self) -> int:
        return self.response_limit if self.response_limit > 0 else DEFAULT_RESPONSE_LIMIT

    @property
    def host(self) -> str:
        """The controller's host name, without the port."""
        return urlsplit(self.controller).hostname or ""

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def deis_home() -> Path:
    return Path(os.path.expanduser("~")) / ".deis"


def profile_path(config: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Where the profile lives: `-c` first, then `DEIS_PROFILE`, then `client`."""
    env = os.environ if env is None else env
    name = config or env.get("DEIS_PROFILE") or "client"
    if "/" in name or name.endswith(".json"):
        return Path(os.path.expanduser(name))
    return deis_home() / f"{name}.json"


def settings_from_json(data: Mapping[str, Any]) -> Settings:
    return Settings(
        controller=str(data.get("controller") or ""),
        username=str(data.get("username") or ""),
        token=str(data.get("token") or ""),
        ssl_verify=bool(data.get("ssl_verify", True)),
        response_limit=as_int(data.get("response_limit")),
    )


def as_int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def settings_to_json(settings: Settings) -> dict[str, Any]:
    data = asdict(settings)
    return {
        key: data[key]
        for key in ("username", "ssl_verify", "controller", "token", "response_limit")
    }


def load_settings(config: str | None = None) -> Settings:
    """Read the profile; a missing one means the user has not logged in."""
    path = profile_path(config)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CLIError(NOT_LOGGED_IN) from None
    except OSError as exc:
        raise CLIError(f"Could not read {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw)
    except ValueError:
        raise CLIError(f"{path} is not valid JSON; log in again to rewrite it.") from None
    if not isinstance(data, dict):
        raise CLIError(f"{path} is not a Deis client profile; log in again to rewrite it.")
    settings = settings_from_json(data)
    if not settings.controller:
        raise CLIError(NOT_LOGGED_IN)
    return settings


def save_settings(settings: Settings, config: str | None = None) -> Path:
    """Write the profile: directory 0700, file 0600 (it holds a token)."""
    path = profile_path(config)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.parent == deis_home():
        os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(settings_to_json(settings), handle)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def delete_settings(config: str | None = None) -> None:
    path = profile_path(config)
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def normalize_controller(url: str) -> str:
    """`deis.example.com` → `http://deis.example.com` (as the Go client does); no trailing /."""
    url = url.strip()
    if "://" not in url:
        url = "http://" + url
    return url.rstrip("/")


# --- errors from the server ----------------------------------------------------------------


def error_message(status: int, body: bytes | str, reason: str = "") -> str:
    """The server's own words for a failed request: `detail`, or `field: message` lines."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and data:
        return _dict_message(data)
    if isinstance(data, list) and data:
        return "\n".join(str(item) for item in data)
    text = text.strip()
    if text and len(text) < 2000 and "<html" not in text.lower():
        return text
    return f"{status} {reason}".strip()


def _dict_message(data: Mapping[str, Any]) -> str:
    detail = data.get("detail")
    if isinstance(detail, str) and len(data) == 1:
        return detail
    lines: list[str] = []
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            text = item if isinstance(item, str) else json.dumps(item)
            lines.append(text if key in ("detail", "non_field_errors") else f"{key}: {text}")
    return "\n".join(lines)


# --- the HTTP client -----------------------------------------------------------------------


def _timeout() -> httpx.Timeout:
    seconds = float(os.environ.get("DEIS_TIMEOUT", "600") or 600)
    return httpx.Timeout(seconds, connect=min(seconds, 15.0))


class Api:
    """Talks to one controller as one user; every failure becomes a `CLIError`."""

    def __init__(
        self,
        settings: Settings,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self.settings = settings
        self.warned = False
        self.server_api_version = ""
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if settings.token:
            headers["Authorization"] = f"token {settings.token}"
        self._http = httpx.Client(
            base_url=settings.controller,
            headers=headers,
            verify=settings.ssl_verify,
            timeout=timeout or _timeout(),
            transport=transport,
            trust_env=True,
        )

    def close(self) -> None:
        self._http.close()

    # the verbs
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._json(self.request("GET", path, params=params))

    def post(self, path: str, body: Any = None) -> Any:
        return self._json(self.request("POST", path, body=body if body is not None else {}))

    def delete(self, path: str, body: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        return self._json(self.request("DELETE", path, body=body, params=params))

    def put(self, path: str, body: Any = None) -> Any:
        return self._json(self.request("PUT", path, body=body if body is not None else {}))

    def patch(self, path: str, body: Any = None) -> Any:
        return self._json(self.request("PATCH", path, body=body if body is not None else {}))

    def get_text(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        return self.request("GET", path, params=params).text

    def get_list(self, path: str, limit: int | None = None) -> tuple[list[Any], int]:
        """One page of a DRF list: (results, total count). Accepts a bare list too."""
        data = self.get(path, params={"limit": limit or self.settings.limit})
        if isinstance(data, list):
            return data, len(data)
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            results = data["results"]
            return results, int(data.get("count", len(results)))
        raise CLIError(f"Unexpected answer from the controller for {path}: {data!r}")

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        kwargs: dict[str, Any] = {"params": params}
        if body is not None:
            kwargs["json"] = body
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise unreachable(self.settings.controller, exc) from None
        self._check_version(response)
        if response.is_redirect:
            raise moved(self.settings.controller, response)
        if response.status_code >= 400:
            raise CLIError(
                error_message(response.status_code, response.content, response.reason_phrase),
                status=response.status_code,
            )
        return response

    def stream_lines(self, path: str, params: Mapping[str, Any]) -> Iterator[str]:
        """GET a streaming text answer and yield it line by line, as it arrives."""
        try:
            with self._http.stream(
                "GET", path, params=params, timeout=httpx.Timeout(None, connect=15.0)
            ) as response:
                self._check_version(response)
                if response.is_redirect:
                    raise moved(self.settings.controller, response)
                if response.status_code >= 400:
                    response.read()
                    raise CLIError(
                        error_message(
                            response.status_code, response.content, response.reason_phrase
                        ),
                        status=response.status_code,
                    )
                yield from response.iter_lines()
        except httpx.HTTPError as exc:
            raise unreachable(self.settings.controller, exc) from None

    def check_connection(self) -> None:
        """A Deis controller answers `GET /v2/` without a token with 401: check that first."""
        try:
            response = httpx.get(
                f"{self.settings.controller}/v2/",
                headers={"User-Agent": USER_AGENT},
                verify=self.settings.ssl_verify,
                timeout=_timeout(),
            )
        except httpx.HTTPError as exc:
            raise unreachable(self.settings.controller, exc) from None
        if response.is_redirect:
            raise moved(self.settings.controller, response)
        if response.status_code != 401:
            raise CLIError(NOT_A_CONTROLLER.format(url=self.settings.controller))
        self._check_version(response)

    def _check_version(self, response: httpx.Response) -> None:
        version = response.headers.get("DEIS_API_VERSION", "")
        self.server_api_version = version or self.server_api_version
        if version and version != API_VERSION and not self.warned:
            self.warned = True
            warn(
                "!    WARNING: Client and server API versions do not match. Please consider upgrading.\n"
                f"!    Client version: {API_VERSION}\n"
                f"!    Server version: {version}"
            )

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text


def moved(controller: str, response: httpx.Response) -> CLIError:
    """The controller answered with a redirect (e.g. to https, when its operator enforces
    TLS): a request is never replayed elsewhere silently; the user is told where to go."""
    location = response.headers.get("Location", "")
    parts = urlsplit(location)
    base = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else location
    return CLIError(
        f"The controller at {controller} redirects to {location or 'another address'}"
        f" ({response.status_code}): use `deis login {base or 'URL'}` with that address.",
        status=response.status_code,
    )


def unreachable(controller: str, exc: Exception) -> CLIError:
    """A network failure, saying which controller could not be reached."""
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        reason = f"timed out ({reason})" if str(exc) else "timed out"
    return CLIError(f"Could not reach the controller at {controller}: {reason}")
