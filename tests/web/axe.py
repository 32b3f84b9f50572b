"""Accessibility checks with axe-core, injected into the page under test.

axe-core comes bundled in the pinned PyPI package axe-playwright-python (no CDN, no npm):
its script is evaluated in the page, so the check sees exactly what the browser rendered.
"""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe

#: WCAG 2.1 A and AA plus axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
_AXE = Axe()


def violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now and return its violations."""
    options = {"resultTypes": ["violations"], "runOnly": {"type": "tag", "values": TAGS}}
    return list(_AXE.run(page, options=options).response["violations"])


def assert_accessible(page: Any) -> None:
    """Fail with one line per rule broken (rule, help text, first offending element)."""
    found = violations(page)
    assert not found, f"axe-core on {page.url}:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}; {len(v['nodes'])} element(s), "
        f"first {v['nodes'][0]['target']}: {v['nodes'][0].get('failureSummary', '')}"
        for v in found
    )
