"""Headless Chromium driven over the DevTools protocol (CDP), with nothing but ``websockets``.

The Dagster UI is a React single-page app: the graph and the plots exist only after its
JavaScript has fetched GraphQL and rendered, and some views (the metadata "Plots" tab, a
Markdown image) appear only after a click. ``--dump-dom`` cannot click, so this drives the
page: navigate, poll a JavaScript predicate until a deadline, click, screenshot.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        path = shutil.which(candidate)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium, one tab; everything it starts is in its own process group."""

    def __init__(self, executable: str, profile: Path, port: int, size=(1500, 850)) -> None:
        self.log = profile.parent / "chromium.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    executable,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={profile}",
                    f"--remote-debugging-port={port}",
                    "--remote-debugging-address=127.0.0.1",
                    f"--window-size={size[0]},{size[1]}",
                    "about:blank",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._ids = itertools.count(1)
        try:
            self.ws = connect(self._page_websocket(port), max_size=64 * 2**20, open_timeout=30)
            self.call("Page.enable")
            self.call("Runtime.enable")
            self.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False},
            )
        except BaseException:
            self.close()
            raise

    def _page_websocket(self, port: int, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited: {self.log.read_text(errors='replace')}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                    pages = [t for t in json.loads(r.read()) if t.get("type") == "page"]
                if pages:
                    return pages[0]["webSocketDebuggerUrl"]
            time.sleep(0.3)
        raise TimeoutError(f"no DevTools page on port {port}")

    def call(self, method: str, params: dict | None = None, timeout: float = 30) -> dict:
        message_id = next(self._ids)
        self.ws.send(json.dumps({"id": message_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"CDP {method} did not answer in {timeout} s")
            reply = json.loads(self.ws.recv(timeout=remaining))
            if reply.get("id") == message_id:  # events and other replies are skipped
                if "error" in reply:
                    raise RuntimeError(f"CDP {method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def goto(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})

    def wait_for(self, what: str, predicate_js: str, timeout: float = 60) -> Any:
        """Poll a JavaScript expression until it is truthy (the page renders asynchronously)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(RuntimeError):  # e.g. no document.body mid-navigation
                value = self.evaluate(predicate_js)
                if value:
                    return value
            time.sleep(0.5)
        text = self.evaluate("document.body ? document.body.innerText.slice(0, 2000) : ''")
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; page:\n{text}")

    def click_text(self, selector: str, text: str) -> bool:
        """Click the first element matching ``selector`` whose text is exactly ``text``."""
        return bool(
            self.evaluate(
                f"""(() => {{
                  const el = [...document.querySelectorAll({json.dumps(selector)})]
                    .find(e => e.textContent.trim() === {json.dumps(text)});
                  if (el) {{ el.click(); return true; }}
                  return false;
                }})()"""
            )
        )

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
