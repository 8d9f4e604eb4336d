"""The back office's members in headless Chromium: a manager imports members from a CSV
(a bad file first: nothing imported, the problem named by row and column), a cashier sells
to one of them at the register, and the manager filters the list, opens the profile with
the bill, changes the tags, exports the filtered list and reads the analytics."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import PHONE, TABLET, by_testid, has_no_horizontal_scroll, screenshot, set_up_register

pytestmark = pytest.mark.browser

BAD_FILE = (
    "phone,name,privacy_policy_version,tags\r\n13800138001,Li Na,2026-11,vip\r\n12345,Bad Phone,2026-11,\r\n"
)
GOOD_FILE = (
    "phone,name,privacy_policy_version,tags,email\r\n"
    "13800138001,Li Na,2026-11,vip|tea,li@example.com\r\n"
    "13800138002,Wang Fang,2026-11,vip,\r\n"
    "13800138003,Zhang Wei,2026-11,,\r\n"
)


def _log_in_back_office(page: Page, server: str) -> None:
    page.goto(server + "/backoffice/login")
    by_testid(page, "email").fill("manager@kassa.demo")
    by_testid(page, "password").fill("kassa-manager-demo")
    by_testid(page, "login").click()
    page.wait_for_url(re.compile(r"/backoffice$"))
    page.goto(server + "/backoffice/members")


def _upload(page: Page, path: Path) -> None:
    by_testid(page, "import-upload").locator("input[type=file]").set_input_files(str(path))


def _shoot(page: Page, name: str) -> None:
    """A tablet and a phone screenshot; the phone must not scroll sideways."""
    page.wait_for_timeout(500)  # let dialogs and charts finish drawing, for the picture only
    screenshot(page, f"{name}-tablet")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    assert has_no_horizontal_scroll(page), f"{name} scrolls sideways on a phone"
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(TABLET)
    page.wait_for_timeout(300)


def _sell_a_cheesecake_to(page: Page, server: str, phone: str) -> None:
    set_up_register(page, server, "Counter 1")
    page.get_by_role("button", name=re.compile("Chen Cashier")).click()
    for digit in "3333":
        by_testid(page, f"pin-{digit}").click()
    by_testid(page, "pin-ok").click()
    page.wait_for_url(re.compile(r"/register"))
    by_testid(page, "product-search").fill("DES-CHE")
    by_testid(page, "product-search").press("Enter")
    expect(page.locator('[data-testid="bill-line"]')).to_have_count(1)
    by_testid(page, "bill-member-add").click()
    search = by_testid(page, "member-search")
    search.fill(phone)
    search.press("Enter")
    page.locator('[data-testid^="member-result-"]').first.click()
    expect(by_testid(page, "bill-member")).to_contain_text("Li Na")
    by_testid(page, "pay").click()
    by_testid(page, "cash-exact").click()
    by_testid(page, "cash-ok").click()
    expect(by_testid(page, "pay-done")).to_be_visible()
    by_testid(page, "pay-finish").click()
    expect(by_testid(page, "no-bill")).to_be_visible()


def test_a_manager_imports_filters_exports_and_reads_member_figures(
    server: str, browser: Browser, tmp_path: Path
) -> None:
    manager = browser.new_page(viewport=TABLET)
    _log_in_back_office(manager, server)

    # a file with a bad phone imports nothing and names row 3, column phone
    by_testid(manager, "members-tab-import").click()
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_FILE, encoding="utf-8")
    _upload(manager, bad)
    problems = by_testid(manager, "import-problems")
    expect(problems.locator("tbody tr")).to_have_count(1)
    expect(problems.locator("tbody tr").first).to_contain_text("3")
    expect(problems.locator("tbody tr").first).to_contain_text("phone")
    expect(problems).to_contain_text("'12345' is not a valid phone number")
    _shoot(manager, "backoffice-members-import")

    good = tmp_path / "good.csv"
    good.write_text(GOOD_FILE, encoding="utf-8")
    _upload(manager, good)
    expect(by_testid(manager, "import-summary")).to_contain_text("3")
    expect(problems).to_be_hidden()

    # the register sells a cheesecake (28.00) to Li Na
    cashier = browser.new_page(viewport=TABLET)
    _sell_a_cheesecake_to(cashier, server, "13800138001")
    cashier.close()

    # the list: everyone, then the vip tag, then those who spent something
    manager.reload()
    # Events sent before the page's socket handshake are dropped by NiceGUI: wait for it.
    manager.wait_for_function("() => window.did_handshake === true")
    table = by_testid(manager, "members-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    by_testid(manager, "member-filters").click()
    by_testid(manager, "filter-tag").fill("vip")
    by_testid(manager, "filter-apply").click()
    expect(table.locator("tbody tr")).to_have_count(2)
    by_testid(manager, "filter-spend-at-least").fill("1")
    by_testid(manager, "filter-apply").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Li Na")
    expect(table).to_contain_text("28.00")
    expect(by_testid(manager, "member-page-label")).to_contain_text("1")
    _shoot(manager, "backoffice-members-list")

    # the profile: one visit, the bill, the favourite; the tags change
    table.locator("tbody tr").first.click()
    expect(by_testid(manager, "profile-visits")).to_have_text("1")
    expect(by_testid(manager, "profile-spend")).to_contain_text("28.00")
    expect(by_testid(manager, "profile-average")).to_contain_text("28.00")
    expect(by_testid(manager, "profile-bill")).to_have_count(1)
    expect(by_testid(manager, "profile-favourite")).to_contain_text("× 1")
    expect(by_testid(manager, "member-consent")).to_have_count(2)
    # the dialog opened anew at each size: the page behind it does not resize under a dialog
    manager.wait_for_timeout(500)
    screenshot(manager, "backoffice-members-profile-tablet")
    for viewport, name in ((PHONE, "phone"), (TABLET, None)):
        manager.keyboard.press("Escape")
        expect(by_testid(manager, "profile-visits")).to_have_count(0)
        manager.set_viewport_size(viewport)
        manager.wait_for_timeout(300)
        table.locator("tbody tr").first.click()
        expect(by_testid(manager, "profile-visits")).to_have_text("1")
        if name is not None:
            manager.wait_for_timeout(500)
            assert has_no_horizontal_scroll(manager), "the profile scrolls sideways on a phone"
            screenshot(manager, f"backoffice-members-profile-{name}")
    by_testid(manager, "profile-tags").fill("vip, tea, regular")
    by_testid(manager, "profile-save").click()
    expect(table).to_contain_text("regular")

    # the export holds the filtered list
    with manager.expect_download() as download:
        by_testid(manager, "member-export-csv").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert [(row["name"], row["tags"], row["total_spend"], row["visits"]) for row in rows] == [
        ("Li Na", "vip|tea|regular", "28.00", "1")
    ]

    # the analytics
    by_testid(manager, "members-tab-analytics").click()
    expect(by_testid(manager, "analytics-members")).to_have_text("3")
    expect(by_testid(manager, "analytics-new")).to_have_text("3")
    expect(by_testid(manager, "analytics-active-30")).to_have_text("1")
    expect(by_testid(manager, "analytics-repeat")).to_have_text("0.0 %")
    expect(by_testid(manager, "analytics-spend-group")).to_contain_text("28.00")
    expect(by_testid(manager, "analytics-new-chart").locator("canvas")).to_have_count(1)
    _shoot(manager, "backoffice-members-analytics")
    manager.close()
