"""Real-browser tests: Playwright drives Debian's Chromium against ``hinge serve`` on a free localhost port.

Screenshots go to ``test-artifacts/``. Without ``/usr/bin/chromium`` these tests (only these) are skipped.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium not found: apt-get install chromium"),
]

# counts the canvas pixels that are drawn in a colour close to (r, g, b)
COUNT_COLOUR_JS = """([selector, r, g, b]) => {
  const canvas = document.querySelector(selector);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let count = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    const near = Math.abs(pixels[i] - r) < 40 && Math.abs(pixels[i + 1] - g) < 40 && Math.abs(pixels[i + 2] - b) < 40;
    if (pixels[i + 3] > 128 && near) count++;
  }
  return count;
}"""
TRUNK_BLUE = (31, 111, 235)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def server(live_server):
    return live_server()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def api(server, path: str):
    with urllib.request.urlopen(f"{server.url}{path.lstrip('/')}") as response:
        return json.load(response)


def upload_with_the_file_picker(page, server, path: Path, content: bytes) -> int:
    """Upload ``content`` as ``path`` from the list page; return the id of the report page it lands on."""
    path.write_bytes(content)
    page.goto(server.url)
    page.set_input_files("#upload-input", str(path))
    page.wait_for_url(re.compile(r"/sessions/\d+$"))
    page.wait_for_selector("body[data-plots-ready=true]")
    return int(page.url.rsplit("/", 1)[1])


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_upload_report_and_history(server, page, tmp_path, simulated):
    session_id = upload_with_the_file_picker(page, server, tmp_path / "rounding-session.csv", simulated("rounding"))
    report = api(server, f"/api/sessions/{session_id}")["report"]

    assert page.inner_text("#session-name") == "rounding-session"
    assert page.evaluate(COUNT_COLOUR_JS, ["#time-plot canvas", *TRUNK_BLUE]) > 200
    assert page.evaluate(COUNT_COLOUR_JS, ["#signature-plot canvas", *TRUNK_BLUE, ]) \
        + page.evaluate(COUNT_COLOUR_JS, ["#signature-plot canvas", 207, 34, 46]) > 100
    rows = page.locator("#reps tbody tr")
    assert rows.count() == len(report["reps"])
    shown_flags = [rows.nth(i).get_attribute("data-flags") for i in range(rows.count())]
    assert shown_flags == [" ".join(rep["flags"]) for rep in report["reps"]]
    assert any("back_rounding" in flags for flags in shown_flags)
    assert page.locator("#reps td.flag-cell.fault").count() == sum(1 for rep in report["reps"] if rep["flags"])
    screenshot(page, "report-rounding.png")

    page.click("text=History")
    page.select_option("select[name=metric]", "rep_count")
    page.wait_for_url(re.compile(r"metric=rep_count"))
    history_row = page.locator(f'#history tr[data-session-id="{session_id}"]')
    assert history_row.locator("td").nth(2).inner_text() == str(report["summary"]["rep_count"])
    assert page.evaluate(COUNT_COLOUR_JS, ["#history-plot canvas", *TRUNK_BLUE]) > 20
    screenshot(page, "history.png")


def test_drag_and_drop_upload_and_a_bad_file(server, page, simulated):
    page.goto(server.url)
    drop = """([name, text]) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([text], name, {type: "text/csv"}));
      document.getElementById("upload").dispatchEvent(
        new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
    }"""
    page.evaluate(drop, ["broken.csv", "time_s,acc\n1,2\n"])
    page.wait_for_selector("#upload-status.error-message")
    assert page.inner_text("#upload-status") == (
        "broken.csv: line 1: expected the header 'time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z', "
        "found 'time_s,acc'")
    assert api(server, "/api/sessions") == []

    page.evaluate(drop, ["dropped.csv", simulated("clean").decode()])
    page.wait_for_url(re.compile(r"/sessions/\d+$"))
    page.wait_for_selector("body[data-plots-ready=true]")
    assert page.inner_text("#session-name") == "dropped"


def test_edit_reanalyse_and_delete(server, page, simulated, tmp_path):
    session_id = upload_with_the_file_picker(page, server, tmp_path / "edit-me.csv", simulated("rounding"))

    page.fill("#edit-form input[name=name]", "<b>Heavy</b> RDL")
    page.fill("#edit-form input[name=load_kg]", "100")
    with page.expect_navigation():
        page.click("#edit-form button[type=submit]")
    assert page.inner_text("#session-name") == "<b>Heavy</b> RDL"
    assert api(server, f"/api/sessions/{session_id}")["load_kg"] == 100

    page.fill("#reanalyse-form input[name=back_rounding_deg]", "85")
    with page.expect_navigation():
        page.click("#reanalyse-form button[type=submit]")
    page.wait_for_selector("body[data-plots-ready=true]")
    assert page.locator("#reps td.flag-cell.fault").count() == sum(
        1 for rep in api(server, f"/api/sessions/{session_id}")["report"]["reps"] if rep["flags"])
    assert not any("back_rounding" in (f or "") for f in page.locator("#reps tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.flags)"))

    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#delete-session")
    page.wait_for_url(server.url)
    assert api(server, "/api/sessions") == []


def test_report_fits_a_phone_screen_and_prints(server, browser, simulated):
    from urllib.request import Request

    boundary = "b0undary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="phone.csv"\r\n\r\n'.encode()
            + simulated("clean") + f"\r\n--{boundary}--\r\n".encode())
    request = Request(f"{server.url}api/sessions", data=body, method="POST",
                      headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request) as response:
        session_id = json.load(response)["id"]

    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = context.new_page()
    page.goto(f"{server.url}sessions/{session_id}")
    page.wait_for_selector("body[data-plots-ready=true]")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate(COUNT_COLOUR_JS, ["#time-plot canvas", *TRUNK_BLUE]) > 200
    screenshot(page, "report-phone.png")
    page.emulate_media(media="print")
    assert page.locator("#edit-form").is_hidden()
    assert page.locator("#time-plot canvas").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    context.close()
