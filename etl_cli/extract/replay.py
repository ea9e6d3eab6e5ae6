"""Answer HTTP requests from recorded responses, so the real extractor code runs offline.

A replay directory holds `manifest.json`: {"responses": [{"path", "query", "status", "headers", "body"}]},
where `path` is matched against the end of the request path (so any base URL works), `query` must equal the
request's query parameters, and `body` names a file in the directory, sent byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from etl_cli.errors import ConfigError


@dataclass(frozen=True)
class Recording:
    """One recorded response and the request it answers."""

    path: str
    query: dict[str, str]
    status: int
    headers: dict[str, str]
    body: bytes


class ReplayAdapter(BaseAdapter):
    """A requests transport adapter that serves recordings instead of the network."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory
        self.recordings = load_recordings(directory)

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        """Return the recording that matches the request, or a 404 that says none does."""
        parts = urlsplit(request.url or "")
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        for recording in self.recordings:
            if parts.path.endswith(recording.path) and recording.query == query:
                return _response(request, recording.status, recording.headers, recording.body)
        missing = {"error": f"no recorded response for {parts.path}?{parts.query} in {self.directory}"}
        headers = {"Content-Type": "application/json"}
        return _response(request, 404, headers, json.dumps(missing).encode())

    def close(self) -> None:
        """Nothing to release."""


def load_recordings(directory: Path) -> list[Recording]:
    """Read a replay directory's manifest and bodies."""
    manifest = directory / "manifest.json"
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8"))["responses"]
        return [
            Recording(
                path=entry["path"],
                query={key: str(value) for key, value in entry.get("query", {}).items()},
                status=int(entry.get("status", 200)),
                headers=dict(entry.get("headers", {})),
                body=(directory / entry["body"]).read_bytes(),
            )
            for entry in entries
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"--replay {directory}: not a usable replay directory ({exc})") from None


def _response(
    request: requests.PreparedRequest, status: int, headers: dict[str, str], body: bytes
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers = CaseInsensitiveDict(headers)
    response._content = body
    response.encoding = get_encoding_from_headers(response.headers)
    response.url = request.url or ""
    response.request = request
    response.reason = "Recorded" if status < 400 else "Not Recorded"
    return response
