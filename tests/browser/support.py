"""Driving a page with the keyboard alone, and the checks every page has to pass."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Error, Page, expect

from tests.helpers.environment import PortalEnvironment

Name = str | re.Pattern[str]

# What has keyboard focus, and the name a screen reader would announce for it (enough of the
# accessible-name rules for this portal's markup: aria-labelledby, aria-label, <label>, text).
FOCUSED = """() => {
  const el = document.activeElement;
  const clean = (text) => (text || "").replace(/\\s+/g, " ").trim();
  if (!el || el === document.body || el === document.documentElement) {
    return {tag: el ? el.tagName.toLowerCase() : "", type: "", id: "", field: "", name: "",
            checked: false, value: ""};
  }
  let name = "";
  const labelledBy = el.getAttribute("aria-labelledby");
  if (labelledBy) {
    name = labelledBy.split(/\\s+/)
      .map((id) => (document.getElementById(id) || {textContent: ""}).textContent).join(" ");
  } else if (el.getAttribute("aria-label")) {
    name = el.getAttribute("aria-label");
  } else if (el.labels && el.labels.length) {
    name = Array.from(el.labels, (label) => label.textContent).join(" ");
  } else if (["A", "BUTTON", "SUMMARY"].includes(el.tagName)) {
    name = el.textContent;
  }
  return {tag: el.tagName.toLowerCase(), type: el.getAttribute("type") || "", id: el.id,
          field: el.getAttribute("name") || "", name: clean(name), checked: !!el.checked,
          value: el.value === undefined ? "" : String(el.value)};
}"""

# Visible form controls a shopper fills in, each without a <label>.
UNLABELLED = """() => Array.from(document.querySelectorAll("input, select, textarea"))
  .filter((el) => !["hidden", "submit", "button", "reset", "image"].includes(el.type))
  .filter((el) => el.getClientRects().length > 0)
  .filter((el) => el.labels.length === 0)
  .map((el) => el.outerHTML)"""

# The controls in a form Tab has to reach: one stop per radio group, the others one each.
TAB_STOPS = """(form) => {
  const stops = [];
  const controls = document.querySelector(form).querySelectorAll("input, select, textarea, button");
  for (const el of controls) {
    if (el.disabled || el.type === "hidden" || el.getClientRects().length === 0) continue;
    const key = el.type === "radio" ? "radio:" + el.name : "#" + el.id;
    if (!stops.includes(key)) stops.push(key);
  }
  return stops;
}"""


@dataclass(frozen=True)
class Focused:
    tag: str
    type: str
    id: str
    field: str
    name: str
    checked: bool
    value: str

    @property
    def key(self) -> str:
        """The same key TAB_STOPS gives this control."""
        return f"radio:{self.field}" if self.type == "radio" else f"#{self.id}"

    def matches(self, name: Name) -> bool:
        if isinstance(name, re.Pattern):
            return name.search(self.name) is not None
        return self.name == name

    def __str__(self) -> str:
        if not self.tag:
            return "(nothing: the document)"
        kind = f"{self.tag}[type={self.type}]" if self.type else self.tag
        where = f"#{self.id}" if self.id else ""
        return f"{kind}{where} {self.name!r}"


@dataclass
class ShopperBrowser:
    """One phone-sized page, the errors it logged, and where its screenshots go."""

    page: Page
    env: PortalEnvironment
    javascript_enabled: bool
    shots: Path
    errors: list[str] = field(default_factory=list)
    expected_statuses: set[tuple[int, str]] = field(default_factory=set)
    focus_log: list[Focused] = field(default_factory=list)
    _shot_count: int = 0
    _cleared: set[Path] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", self._on_page_error)

    def _on_console(self, message: ConsoleMessage) -> None:
        url = message.location.get("url", "")
        path = urlsplit(url).path
        # The browser asks for /favicon.ico on its own; the portal has none to give.
        if message.type != "error" or path.startswith("/favicon.ico"):
            return
        if any(
            f"status of {status} " in message.text and path == expected
            for status, expected in self.expected_statuses
        ):
            return
        self.errors.append(f"console: {message.text} ({url})")

    def expect_status(self, status: int, path: str) -> None:
        """Chromium logs each 4xx/5xx answer as an error; a form with errors answers 400."""
        self.expected_statuses.add((status, path))

    def _on_page_error(self, error: Error) -> None:
        self.errors.append(f"page error: {error.message}")

    # --- moving around -----------------------------------------------------------------------

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.focus_log.clear()

    def focused(self) -> Focused:
        info: dict[str, Any] = self.page.evaluate(FOCUSED)
        return Focused(**info)

    def press(self, key: str) -> None:
        """Press ``key`` on whatever has focus (a button: it may start a navigation)."""
        self.page.keyboard.press(key)

    def step(self, key: str) -> Focused:
        """Press a key that keeps to this page, and say where focus is after it."""
        self.page.keyboard.press(key)
        now = self.focused()
        self.focus_log.append(now)
        return now

    def tab_to(self, name: Name, *, backwards: bool = False, max_presses: int = 40) -> Focused:
        """Press Tab (or Shift+Tab) until the focused element is called ``name``."""
        now = self.focused()
        if now.matches(name):
            return now
        key = "Shift+Tab" if backwards else "Tab"
        seen: list[Focused] = []
        for _ in range(max_presses):
            now = self.step(key)
            seen.append(now)
            if now.matches(name):
                return now
        visited = "\n  ".join(str(f) for f in seen)
        raise AssertionError(
            f"{max_presses} presses of {key} on {self.page.url} never focused {name!r}; "
            f"focus went to:\n  {visited}"
        )

    def choose_radio(self, name: Name, *, max_presses: int = 10) -> Focused:
        """In the focused radio group, move with the arrow keys to ``name`` and select it."""
        now = self.focused()
        assert now.type == "radio", f"expected a radio button to have focus, not {now}"
        for _ in range(max_presses):
            if now.matches(name):
                break
            now = self.step("ArrowDown")
        else:
            raise AssertionError(f"the arrow keys never reached the radio button {name!r}")
        if not now.checked:
            now = self.step("Space")
        assert now.checked, f"{now} is not selected"
        return now

    def type(self, text: str, *, replace: bool = False) -> Focused:
        if replace:
            self.page.keyboard.press("ControlOrMeta+A")
        self.page.keyboard.type(text)
        return self.focused()

    def expect_h1(self, text: str | re.Pattern[str]) -> None:
        """Wait for the page whose heading is ``text``, fully loaded."""
        expect(self.page.locator("h1")).to_have_text(text, timeout=10_000)
        self.page.wait_for_load_state("load")
        self.focus_log.clear()

    def missed_tab_stops(self, form: str) -> list[str]:
        """The controls of ``form`` (a selector) Tab has not reached since this page loaded."""
        stops: list[str] = self.page.evaluate(TAB_STOPS, form)
        reached = {f.key for f in self.focus_log}
        return [stop for stop in stops if stop not in reached]

    # --- checks and evidence -----------------------------------------------------------------

    def check_page(self) -> None:
        """One h1, a label for every visible control, no sideways scrolling on a phone, and
        nothing logged as an error."""
        headings = self.page.locator("h1").count()
        assert headings == 1, f"{self.page.url} has {headings} h1 elements"
        widths = self.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{self.page.url} scrolls sideways: {widths}"
        unlabelled: list[str] = self.page.evaluate(UNLABELLED)
        assert unlabelled == [], f"controls without a label on {self.page.url}: {unlabelled}"
        assert self.errors == [], f"errors in the browser on {self.page.url}: {self.errors}"

    def screenshot(self, label: str) -> Path:
        if self.shots not in self._cleared:
            self.shots.mkdir(parents=True, exist_ok=True)
            for old in self.shots.glob("*.png"):
                old.unlink()
            self._cleared.add(self.shots)
        self._shot_count += 1
        path = self.shots / f"{self._shot_count:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path
