"""Screenshots of the pages browser tests walk through, for people to look at (not asserted)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("SCREENSHOTS_DIR", "/tmp/screenshots"))


def screenshots(page, name: str, *, folder: str, widths: tuple[int, ...] = (1280, 800)) -> None:
    """Full-page PNGs of ``page`` at each width into ``ROOT/folder``, then back to 1280 px wide."""
    target = ROOT / folder
    target.mkdir(parents=True, exist_ok=True)
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(target / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
