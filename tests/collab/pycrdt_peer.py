"""A second, independent client of Socle's collaboration server: pycrdt's `Provider`
(Python; the sync protocol written in Python over pycrdt's documents) over a `websockets`
client. Prints one JSON line per scenario and exits 1 if any failed.

    COLLAB_CONFIG='{"ws_base": ..., "http_base": ..., "project_id": ..., "page_id": ...,
                    "tokens": [owner, member], "share_token": ...}' python3 pycrdt_peer.py

The page starts as {"type":"page","props":{},"children":[{"type":"heading","props":{"text":"Hello","level":1}}]}
(the same config as interop.mjs). Installed by scripts/test: pycrdt, websockets.
"""

import asyncio
import json
import os
import sys
import time
import urllib.request

from pycrdt import Array, Doc, Map, Provider, Text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

CONFIG = json.loads(os.environ["COLLAB_CONFIG"])
PATIENCE = 10.0


class Channel:
    """pycrdt's transport protocol over a websockets connection: one message per frame."""

    def __init__(self, ws, path):
        self._ws = ws
        self._path = path

    @property
    def path(self):
        return self._path

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self.recv()
        except ConnectionClosed:
            raise StopAsyncIteration()

    async def send(self, message):
        await self._ws.send(bytes(message))

    async def recv(self):
        message = await self._ws.recv()
        return message if isinstance(message, bytes) else message.encode()


class Peer:
    """A pycrdt document synced with the page through its own WebSocket."""

    def __init__(self, name, query):
        self.name = name
        self.query = query
        self.doc = Doc()

    async def __aenter__(self):
        url = f"{CONFIG['ws_base']}/{CONFIG['page_id']}?{self.query}"
        self._ws = await connect(url, max_size=None)
        self._provider = Provider(self.doc, Channel(self._ws, CONFIG["page_id"]))
        await self._provider.__aenter__()
        await asyncio.wait_for(self._provider.synced.wait(), PATIENCE)
        return self

    async def __aexit__(self, *exc):
        await self._provider.__aexit__(*exc)
        await self._ws.close()

    def page(self):
        return self.doc.get("page", type=Map)

    def heading(self):
        children = self.page()["children"]
        assert isinstance(children, Array), f"children is a {type(children)}"
        return children[0]

    def heading_text(self):
        text = self.heading()["props"]["text"]
        assert isinstance(text, Text), f"props.text is a {type(text)}"
        return text

    def json(self):
        return self.page().to_py()


async def until(what, check):
    deadline = time.monotonic() + PATIENCE
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited for {what}")
        await asyncio.sleep(0.02)


def rest_document():
    request = urllib.request.Request(
        f"{CONFIG['http_base']}/api/v1/studio/projects/{CONFIG['project_id']}/pages/{CONFIG['page_id']}",
        headers={"Authorization": f"Bearer {CONFIG['tokens'][0]}"},
    )
    with urllib.request.urlopen(request, timeout=PATIENCE) as response:
        return json.load(response)["document"]


async def converge():
    async with Peer("A", f"token={CONFIG['tokens'][0]}") as a, Peer("B", f"token={CONFIG['tokens'][1]}") as b:
        assert str(a.heading_text()) == "Hello", a.json()
        # Concurrent edits of one text and of a prop, made before either hears of the other.
        a.heading_text().insert(len(a.heading_text()), " world")
        b.heading_text().insert(0, "Oh, ")
        b.heading()["props"]["level"] = 2
        await until("A and B to converge", lambda: a.json() == b.json() and str(a.heading_text()) == "Oh, Hello world")
        assert a.heading()["props"]["level"] == 2, a.json()
        await until("the REST page to follow", lambda: rest_document()["children"][0]["props"]["text"] == "Oh, Hello world")
        return {"heading": str(a.heading_text())}


async def late_joiner():
    async with Peer("A", f"token={CONFIG['tokens'][0]}") as a:
        a.heading_text().insert(len(a.heading_text()), "!")
        await until("the edit to be stored", lambda: rest_document()["children"][0]["props"]["text"].endswith("!"))
    async with Peer("C", f"token={CONFIG['tokens'][1]}") as c:
        assert str(c.heading_text()).endswith("!"), c.json()
        return {"heading": str(c.heading_text())}


async def read_only():
    async with Peer("A", f"token={CONFIG['tokens'][0]}") as a, Peer("V", f"share={CONFIG['share_token']}") as viewer:
        before = str(a.heading_text())
        viewer.heading_text().insert(0, "vandal ")
        await asyncio.sleep(0.5)
        a.heading_text().insert(len(a.heading_text()), "?")
        await until("the viewer to see A's edit", lambda: str(viewer.heading_text()).endswith("?"))
        assert str(a.heading_text()) == before + "?", f"the viewer's edit reached A: {a.json()}"
        assert not rest_document()["children"][0]["props"]["text"].startswith("vandal"), "the viewer's edit was stored"
        return {"heading": str(a.heading_text())}


SCENARIOS = [converge, late_joiner, read_only]


async def main():
    failed = False
    for scenario in SCENARIOS:
        started = time.monotonic()
        try:
            detail = await asyncio.wait_for(scenario(), 3 * PATIENCE)
            line = {"scenario": scenario.__name__, "ok": True, **detail}
        except Exception as e:  # every failure is reported, and the next scenario runs
            failed = True
            line = {"scenario": scenario.__name__, "ok": False, "error": f"{type(e).__name__}: {e}"}
        line["ms"] = round((time.monotonic() - started) * 1000)
        print(json.dumps(line), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    asyncio.run(main())
