"""The hub page in a real browser: Debian's Chromium (`make chromium`) driven by Playwright, against
the real `mcpagents ui` (tests/hub_server.py). Playwright's own browser downloads are never used.

On a failure, a screenshot of the page is saved and its path is in the assertion message.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, expect, sync_playwright

from tests.hub_server import TOKEN, Hub, running_hub

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"  # of the two runs in tests/data/hub/runs
WAIT_MS = 30_000
"""How long a page waits for what it expects: long enough for a loaded machine (the CI's 2 cores)."""
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with running_hub(tmp_path_factory.mktemp("hub")) as hub:
        yield hub


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Chromium is not installed: `make chromium` installs Debian's package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, hub: Hub) -> Iterator[Page]:
    """The hub page, opened at the URL `mcpagents ui` printed; the test fails if the page broke its
    Content-Security-Policy (an inline script or style, say)."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    refusals: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refusals.append(message.text)

    page.on("console", note)
    page.goto(hub.page)
    yield page
    context.close()
    assert refusals == [], refusals


@contextmanager
def shown_on_failure(page: Page, tmp_path: Path) -> Iterator[None]:
    """A failure inside saves a screenshot of the page and names it in the assertion message."""
    try:
        yield
    except (AssertionError, Error) as failure:
        path = tmp_path / "page.png"
        page.screenshot(path=path, full_page=True)
        raise AssertionError(f"{failure}\n(a screenshot of the page: {path})") from failure


def chat(page: Page, agent: str, message: str) -> None:
    page.get_by_label("Agent").select_option(agent)
    page.get_by_label("Message").fill(message)
    page.get_by_role("button", name="Send").click()


def test_the_token_leaves_the_address_bar(page: Page, tmp_path: Path) -> None:
    with shown_on_failure(page, tmp_path):
        expect(page.get_by_label("Agent")).to_have_value("helper")
        assert "token" not in page.url
        assert page.evaluate("sessionStorage.getItem('mcpagents-hub-token')") == TOKEN


def test_a_chat_shows_each_step_as_it_happens_and_continues(page: Page, tmp_path: Path) -> None:
    with shown_on_failure(page, tmp_path):
        chat(page, "helper", "What is 3 times 12?")
        transcript = page.get_by_role("log", name="Conversation")
        expect(transcript).to_contain_text("Tool call: evaluate")
        expect(transcript).to_contain_text('"expression": "3 * 12"')
        expect(transcript).to_contain_text("Tool result: evaluate")
        expect(transcript.locator(".record.answer")).to_contain_text("36 (3 × 12)")
        expect(transcript).to_contain_text("Run success")
        expect(page.get_by_role("button", name="Send")).to_be_enabled()

        page.get_by_label("Message").fill("And twice that?")
        page.get_by_label("Message").press("Enter")
        expect(transcript.locator(".record.answer").nth(1)).to_contain_text("72, twice that")


def test_a_run_is_cancelled_from_the_page(page: Page, tmp_path: Path) -> None:
    with shown_on_failure(page, tmp_path):
        chat(page, "slow", "Take your time")
        cancel = page.get_by_role("button", name="Cancel run")
        expect(cancel).to_be_enabled()
        cancel.click()
        expect(page.get_by_role("log", name="Conversation")).to_contain_text("Run cancelled")
        expect(page.get_by_role("button", name="Send")).to_be_enabled()
        expect(cancel).to_be_disabled()


def test_a_question_is_answered_in_the_page(page: Page, tmp_path: Path) -> None:
    with shown_on_failure(page, tmp_path):
        chat(page, "asker", "Greet me")
        question = page.locator("form.question")
        expect(question).to_contain_text("What is your name?")
        question.get_by_label("Answer (required)").fill("Ada")
        question.get_by_role("button", name="Answer", exact=True).click()
        transcript = page.get_by_role("log", name="Conversation")
        expect(transcript.locator(".record.tool", has_text="Tool result: ask_user")).to_contain_text("Ada")
        expect(transcript.locator(".record.answer")).to_contain_text("Nice to meet you.")


def test_a_past_run_is_shown_as_a_timeline_with_its_trace(page: Page, tmp_path: Path) -> None:
    with shown_on_failure(page, tmp_path):
        page.get_by_role("button", name="Runs").click()
        page.get_by_role("button", name="manager Ask the helper what 3 times 12 is").click()
        detail = page.locator("#run-detail")
        expect(
            detail.get_by_role("heading", name="manager: Ask the helper what 3 times 12 is")
        ).to_be_visible()
        expect(detail.locator(".timeline .span-row")).to_have_count(6)
        expect(detail.locator(".timeline")).to_contain_text(
            "chat scripted:manager.yaml · 200 ms · 120 in / 15 out tokens"
        )
        expect(detail.locator(".events")).to_contain_text("Tool call: helper")

        detail.get_by_role("button", name="Show the whole trace (2 runs)").click()
        expect(detail.get_by_role("heading", name=f"Trace {TRACE}: 2 runs")).to_be_visible()
        # The helper's spans sit under the manager's call of it; its failed tool call is marked.
        expect(detail.locator(".timeline .span-row")).to_have_count(12)
        expect(detail.locator(".timeline .bar.error")).to_have_count(1)
        expect(detail.locator(".timeline")).to_contain_text("ToolError: evaluate(): division by zero")


def test_a_tool_is_called_from_the_form_of_its_schema(page: Page, tmp_path: Path) -> None:
    with shown_on_failure(page, tmp_path):
        page.get_by_role("button", name="Servers").click()
        page.get_by_role("button", name="calc Cursor").click()
        detail = page.locator("#server-detail")
        expect(detail).to_contain_text("Running (protocol")
        expect(detail).not_to_contain_text("null")  # what a server does not have is left out
        multiply = detail.locator("details.tool", has_text="multiply")
        multiply.locator("summary").first.click()
        multiply.get_by_label("a (required)").fill("6")
        multiply.get_by_label("b (required)").fill("7")
        multiply.get_by_role("button", name="Call multiply").click()
        expect(multiply.locator(".tool-output")).to_contain_text("42")

        page.get_by_role("button", name="broken Cursor").click()
        expect(detail.locator(".server-error")).to_contain_text(
            "command '/nonexistent/mcp-server-broken' was not found"
        )


def test_a_checkbox_a_choice_and_json_fields_send_what_they_show(page: Page, tmp_path: Path) -> None:
    with shown_on_failure(page, tmp_path):
        page.get_by_role("button", name="Servers").click()
        page.get_by_role("button", name="form Cursor").click()
        echo = page.locator("#server-detail details.tool", has_text="echo")
        echo.locator("summary").first.click()
        tags = echo.get_by_label("tags (required), JSON")
        tags.fill('["a", ')
        echo.get_by_role("button", name="Call echo").click()
        expect(echo.locator(".tool-output")).to_contain_text("tags: not valid JSON")

        echo.get_by_label("flag (required)").check()
        echo.get_by_label("level (required)").select_option(label="high")
        tags.fill('["a", "b"]')
        echo.get_by_label("limits, JSON").fill('{"depth": 2}')
        echo.get_by_role("button", name="Call echo").click()
        sent = '{"flag": true, "level": "high", "limits": {"depth": 2}, "tags": ["a", "b"]}'
        expect(echo.locator(".tool-output")).to_contain_text(sent)

        echo.get_by_label("flag (required)").uncheck()
        echo.get_by_label("limits, JSON").fill("")
        echo.get_by_role("button", name="Call echo").click()
        unchecked = '{"flag": false, "level": "high", "limits": null'
        expect(echo.locator(".tool-output")).to_contain_text(unchecked)


def test_the_keyboard_reaches_everything_and_every_field_has_a_label(page: Page, tmp_path: Path) -> None:
    with shown_on_failure(page, tmp_path):
        expect(page.get_by_label("Agent")).to_have_value("helper")
        page.locator("body").focus()
        reached = []
        for _ in range(8):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("document.activeElement.id || document.activeElement.textContent"))
            if reached[-1] == "task-input":
                break
        assert reached == ["Chat", "Runs", "Servers", "agent-select", "new-chat", "task-input"]
        assert (
            page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
        )  # focus shows

        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Shift+Tab")  # the Servers button
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Servers")).to_be_visible()
        page.get_by_role("button", name="calc Cursor").click()
        expect(page.locator("#server-detail")).to_contain_text("Running (protocol")
        unlabelled = page.evaluate(
            "[...document.querySelectorAll('input, select, textarea')]"
            ".filter((field) => !field.labels.length).map((field) => field.outerHTML)"
        )
        assert unlabelled == []
        live = page.evaluate("[...document.querySelectorAll('[aria-live=polite]')].map((node) => node.id)")
        assert {"transcript", "run-detail", "server-detail"} <= set(live)
