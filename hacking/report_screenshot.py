#!/usr/bin/env python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Screenshot an HTML fleet report in headless Chromium, for the docs (docs/images/).

    make demo   # or any run that writes reports/virtio_rollout.html
    python hacking/report_screenshot.py demo/reports/virtio_rollout.html docs/images/virtio_rollout_report.png

Needs Debian's chromium and chromium-driver (``make browser``) and selenium (requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="the .html report")
    parser.add_argument("png", type=Path, help="where to write the screenshot")
    parser.add_argument("--width", type=int, default=1400)
    args = parser.parse_args(argv)
    options = Options()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={args.width},900", "--hide-scrollbars"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=options)
    try:
        driver.get(args.report.resolve().as_uri())
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(args.width, min(int(height) + 40, 2400))
        args.png.parent.mkdir(parents=True, exist_ok=True)
        args.png.write_bytes(driver.get_screenshot_as_png())
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
