"""From a catalog entry to the list of files to download, per source type.

Each publisher lists its files through its own API (Dataverse, Figshare, GitHub releases) with sizes and
digests; plain HTTP sources have their files in the entry. The catalog's own sizes and hashes, when it
has them, win over the API's: they are the reference the download is checked against.

Base URLs come from the entry and can be redirected with NEURODATAHUB_DATAVERSE_URL,
NEURODATAHUB_FIGSHARE_API_URL, NEURODATAHUB_FIGSHARE_DOWNLOAD_URL and NEURODATAHUB_GITHUB_API_URL
(mirrors, and the tests' local server).
"""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurodatahub.catalog.errors import FetchError
from neurodatahub.catalog.http import Expected, get_json
from neurodatahub.core.errors import InputError

DATAVERSE_URL = "https://dataverse.harvard.edu"
FIGSHARE_API_URL = "https://api.figshare.com/v2"
FIGSHARE_DOWNLOAD_URL = "https://figshare.com/ndownloader/files"
GITHUB_API_URL = "https://api.github.com"
DATAVERSE_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256"}


@dataclass
class RemoteFile:
    """One file to download; `headers` may carry a key and are never printed."""

    name: str
    url: str
    expected: Expected
    headers: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int | None:
        return self.expected.size


def config_path() -> Path:
    """NEURODATAHUB_CONFIG, else $XDG_CONFIG_HOME/neurodatahub/config.yaml, else ~/.config/..."""
    if os.environ.get("NEURODATAHUB_CONFIG"):
        return Path(os.environ["NEURODATAHUB_CONFIG"]).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config").expanduser()
    return base / "neurodatahub" / "config.yaml"


def read_config() -> dict[str, Any]:
    """The config file as a mapping ({} when there is none); a damaged one is an error naming it."""
    path = config_path()
    if not path.is_file():
        return {}
    import yaml

    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise InputError(f"{path}: unreadable config file ({' '.join(str(error).split())})") from error
    if not isinstance(config, dict):
        raise InputError(f"{path}: the config file must be a mapping")
    return config


def _config_key(section: str) -> str | None:
    """`<section>: {api_key: ...}` from the config file (lacuna's layout), if there is one."""
    value = read_config().get(section, {})
    key = value.get("api_key") if isinstance(value, dict) else None
    return str(key) if key else None


def dataverse_key(given: str | None = None) -> str | None:
    """The Dataverse API key: the option, else DATAVERSE_API_KEY, else the config file."""
    return given or os.environ.get("DATAVERSE_API_KEY") or _config_key("dataverse")


def figshare_token(given: str | None = None) -> str | None:
    return given or os.environ.get("FIGSHARE_API_KEY") or _config_key("figshare")


def _base(env: str, default: str) -> str:
    return (os.environ.get(env) or default).rstrip("/")


def _dataverse(entry: dict[str, Any], api_key: str | None) -> list[RemoteFile]:
    server = _base("NEURODATAHUB_DATAVERSE_URL", entry.get("dataverse_server") or DATAVERSE_URL)
    key = dataverse_key(api_key)
    headers = {"X-Dataverse-key": key} if key else {}
    pid = urllib.parse.quote(entry["persistent_id"], safe=":/")
    listing = get_json(f"{server}/api/datasets/:persistentId/?persistentId={pid}", headers)
    files = []
    for item in listing.get("data", {}).get("latestVersion", {}).get("files", []):
        data = item.get("dataFile", {})
        checksum = data.get("checksum") or ({"type": "MD5", "value": data["md5"]} if data.get("md5") else {})
        algorithm = DATAVERSE_HASHES.get(checksum.get("type", ""), "unknown")
        files.append(
            RemoteFile(
                name=data.get("filename") or item.get("label"),
                url=f"{server}/api/access/datafile/{data['id']}",
                expected=Expected(
                    data.get("filesize"), algorithm, checksum.get("value") if algorithm != "unknown" else None
                ),
                headers=headers,
            )
        )
    return files


def _figshare(entry: dict[str, Any], api_key: str | None) -> list[RemoteFile]:
    token = figshare_token(api_key)
    headers = {"Authorization": f"token {token}"} if token else {}
    if entry.get("article_id") is None:  # files named by id in the entry
        base = _base("NEURODATAHUB_FIGSHARE_DOWNLOAD_URL", FIGSHARE_DOWNLOAD_URL)
        return [
            RemoteFile(file["name"], file.get("url") or f"{base}/{file['file_id']}", Expected(), headers)
            for file in entry.get("files", [])
        ]
    api = _base("NEURODATAHUB_FIGSHARE_API_URL", FIGSHARE_API_URL)
    article = get_json(f"{api}/articles/{entry['article_id']}", headers)
    return [
        RemoteFile(
            name=item["name"],
            url=item["download_url"],
            expected=Expected(
                item.get("size"),
                "md5" if item.get("computed_md5") else "unknown",
                item.get("computed_md5") or None,
            ),
            headers=headers,
        )
        for item in article.get("files", [])
    ]


def _github(entry: dict[str, Any], api_key: str | None) -> list[RemoteFile]:
    api = _base("NEURODATAHUB_GITHUB_API_URL", GITHUB_API_URL)
    token = os.environ.get("GITHUB_TOKEN")
    headers = {"Accept": "application/vnd.github+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    release = get_json(f"{api}/repos/{entry['repository']}/releases/tags/{entry['release_tag']}", headers)
    files = []
    for asset in release.get("assets", []):
        algorithm, _, digest = (asset.get("digest") or "").partition(":")  # "sha256:<hex>" when published
        files.append(
            RemoteFile(
                name=asset["name"],
                url=asset["browser_download_url"],
                expected=Expected(asset.get("size"), algorithm if digest else "unknown", digest or None),
            )
        )
    return files


def _http(entry: dict[str, Any], api_key: str | None) -> list[RemoteFile]:
    base = (entry.get("download_url") or "").rstrip("/")
    files = []
    for file in entry.get("files", []):
        url = file.get("url") or (f"{base}/{file['name']}" if base else None)
        if not url:
            raise FetchError(f"{entry['name']}: file {file['name']} has no URL and the entry no download_url")
        files.append(RemoteFile(file["name"], url, Expected()))
    return files


RESOLVERS = {"dataverse": _dataverse, "figshare": _figshare, "github_release": _github, "http": _http}


def _catalog_expectation(file: dict[str, Any], published: Expected) -> Expected:
    """The catalog's size and hash where it has them, else what the source's API published."""
    checksum = file.get("checksum") or {}
    if checksum.get("algorithm", "unknown") != "unknown":
        algorithm, digest = checksum["algorithm"], checksum["value"]
    else:
        algorithm, digest = published.algorithm, published.digest
    return Expected(file.get("size_bytes", published.size), algorithm, digest)


def resolve(entry: dict[str, Any], api_key: str | None = None) -> list[RemoteFile]:
    """The files of an entry: those the catalog lists (located through the source), else all published."""
    listed = entry.get("files") or []
    direct = entry["source_type"] == "github_release" and listed and all(file.get("url") for file in listed)
    # release assets with their URLs in the catalog need no API call (and no API rate limit)
    available = _http(entry, api_key) if direct else RESOLVERS[entry["source_type"]](entry, api_key)
    if not listed:
        if not available:
            raise FetchError(f"{entry['name']}: the source publishes no files")
        return available
    by_name = {remote.name: remote for remote in available}
    chosen = []
    for file in listed:
        remote = by_name.get(file["name"])
        if remote is None:
            names = ", ".join(sorted(by_name)) or "none"
            raise FetchError(
                f"{entry['name']}: the catalog lists {file['name']}, which the source does not publish"
                f" (it publishes: {names})"
            )
        remote.expected = _catalog_expectation(file, remote.expected)
        chosen.append(remote)
    return chosen
