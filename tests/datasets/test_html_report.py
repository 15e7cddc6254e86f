"""The HTML report of `hub validate`: one self-contained page, thumbnails drawn once per content, and the
page opened in a real headless browser (Debian's chromium through its chromedriver, driven by selenium):
no console errors, every thumbnail loads, the filters show exactly the files the JSON report says."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import mixed
import numpy as np
import pytest

from neurodatahub.cli import main
from neurodatahub.core import kinds
from neurodatahub.datasets import thumbnails
from neurodatahub.datasets.validation import validate_dataset

TESTS = Path(__file__).resolve().parent.parent
# a name that would become markup (and a broken image) if the page did not escape file names
ODD_NAME = "x<img src=missing onerror=alert(1)>.yaml"
BROWSER_ARGUMENTS = ("--headless", "--no-sandbox", "--disable-background-networking")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("html") / "lab"
    mixed.build(root)  # 12 subjects: each planted problem has its subject
    shutil.copy(TESTS / "data" / "invalid" / "SpikeData.yaml", root / ODD_NAME)
    return root


@pytest.fixture(scope="module")
def reports(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Path]:
    """The HTML report and the JSON report of the same run (the JSON one is the oracle of the page), and
    the cache they share (the HTML run found the results there and drew every thumbnail)."""
    out = tmp_path_factory.mktemp("reports")
    cache = str(out / "cache")
    main(["validate", str(dataset), "--format", "json", "-o", str(out / "report.json"), "--cache", cache])
    main(["validate", str(dataset), "--format", "html", "-o", str(out / "report.html"), "--cache", cache])
    return out / "report.html", json.loads((out / "report.json").read_text()), Path(cache)


class _Page(HTMLParser):
    """What a self-contained page may not have (sources that are not data: URIs), and each file's images."""

    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []
        self.images: dict[str, list[str]] = {}
        self._file = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name) is not None and not found[name].startswith("data:"):
                self.external.append(f"<{tag} {name}={found[name]}>")
        if tag == "section" and found.get("data-path") is not None:
            self._file = found["data-path"] or ""
        if tag == "img":
            self.images.setdefault(self._file, []).append(found["src"] or "")


def test_the_page_is_self_contained_and_has_a_thumbnail_per_data_file(
    reports: tuple[Path, dict, Path],
) -> None:
    from PIL import Image

    page, oracle, _ = reports
    text = page.read_text()
    parsed = _Page()
    parsed.feed(text)
    assert parsed.external == []
    assert "@import" not in text and "url(http" not in text
    valid_data = {
        entry["relpath"]
        for entry in oracle["files"]
        if entry["status"] == "valid" and entry["kind"] in kinds.kind_names()
    }
    assert len(valid_data) > 50 and valid_data <= set(parsed.images)
    for sources in parsed.images.values():
        (source,) = sources
        picture = Image.open(io.BytesIO(base64.b64decode(source.removeprefix("data:image/png;base64,"))))
        assert picture.size == (440, 260)
        assert np.asarray(picture.convert("L")).std() > 5  # a drawing, not a blank
    for entry in oracle["files"]:  # every problem of the JSON report is on the page under its file
        for problem in entry["problems"]:
            assert problem["code"] in text
    assert ODD_NAME not in text and "x&lt;img src=missing" in text


def test_a_warm_run_draws_nothing_and_a_changed_file_is_drawn_again(
    dataset: Path, reports: tuple[Path, dict, Path]
) -> None:
    _, _, cache = reports
    warm = thumbnails.thumbnails(validate_dataset([str(dataset)], cache=cache))
    assert len(warm) > 50 and all(thumbnail.cached for thumbnail in warm.values())
    assert sum(thumbnail.png is not None for thumbnail in warm.values()) > 50
    changed = next(
        url for url in warm if url.endswith("sub-12_space-MNI152NLin6Asym_label-lesion_mask.nii.gz")
    )
    mixed.mask(Path(changed), shape=(16, 16, 16))
    again = thumbnails.thumbnails(validate_dataset([str(dataset)], cache=cache))
    assert [url for url, thumbnail in again.items() if not thumbnail.cached] == [changed]
    assert None is not again[changed].png != warm[changed].png


def test_files_too_large_or_invalid_get_a_note_not_a_picture(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(thumbnails, "MAX_BYTES", 1000)  # a whole-file format read only below this size
    report = validate_dataset([str(dataset / "sub-01"), str(dataset / ODD_NAME)], cache=False)
    drawn = thumbnails.thumbnails(report)
    fa = next(thumbnail for url, thumbnail in drawn.items() if url.endswith("_FA.nii.gz"))
    assert fa.png is None and "larger than" in fa.note
    odd = next(thumbnail for url, thumbnail in drawn.items() if url.endswith(ODD_NAME))
    assert odd.png is None and odd.note.startswith("no picture:")


def _browser():
    """Debian's chromium through its chromedriver, or the reason the browser test cannot run here."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip("no chromium and chromedriver on this machine (.ci/run installs Debian's packages)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in BROWSER_ARGUMENTS:
        options.add_argument(argument)
    options.binary_location = chromium
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


@pytest.fixture(scope="module")
def browser():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # selenium's driver manager must not look for downloads
        driver = _browser()
        try:
            yield driver
        finally:
            driver.quit()


def _shown(browser) -> list[str]:
    from selenium.webdriver.common.by import By

    return sorted(
        section.get_attribute("data-path")
        for section in browser.find_elements(By.CSS_SELECTOR, "section.file")
        if section.is_displayed()
    )


def test_the_page_in_a_headless_browser(browser, reports: tuple[Path, dict, Path]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    page, oracle, _ = reports
    browser.get(page.as_uri())
    # the page is megabytes of inlined pictures: on a loaded machine it may still be parsing when get returns
    WebDriverWait(browser, 60).until(
        lambda driver: driver.execute_script("return document.readyState") == "complete"
    )
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []

    images = browser.find_elements(By.CSS_SELECTOR, "img.thumb")
    assert len(images) > 10
    widths = [
        browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image)
        for image in images
    ]
    assert all(width == 440 for width in widths), widths

    listed = [entry for entry in oracle["files"] if entry["status"] != "skipped" or entry["problems"]]
    assert _shown(browser) == sorted(entry["relpath"] for entry in listed)
    Select(browser.find_element(By.ID, "kind-filter")).select_by_value("connectivity")
    connectivity = sorted(entry["relpath"] for entry in listed if entry["kind"] == "connectivity")
    assert connectivity and _shown(browser) == connectivity
    assert browser.find_element(By.ID, "shown").text == str(len(connectivity))

    Select(browser.find_element(By.ID, "kind-filter")).select_by_value("")
    for box in browser.find_elements(By.CSS_SELECTOR, "input[name=severity]"):
        if box.get_attribute("value") != "error":
            box.click()
    with_errors = sorted(
        entry["relpath"]
        for entry in listed
        if any(problem["severity"] == "error" for problem in entry["problems"])
    )
    assert with_errors and _shown(browser) == with_errors
    rows = [row for row in browser.find_elements(By.CSS_SELECTOR, "tr.problem") if row.is_displayed()]
    assert rows and {row.get_attribute("data-severity") for row in rows} == {"error"}
    assert re.fullmatch(r"\d+", browser.find_element(By.ID, "shown").text)
