"""A WebSocket client for spec/ws_python_client_spec.lua: Python's `websockets` (Debian's
python3-websockets, run with /usr/bin/python3). Connects to the URL in argv[1], sends a text
and a binary message, a ping, reads the echoes and the pong, closes with 1000, and prints what
it saw, one line each, for the spec to compare exactly."""
import asyncio
import sys

import websockets


async def main(url):
    async with websockets.connect(url, open_timeout=5, close_timeout=5) as ws:
        await ws.send("héllo from python")
        print("text", repr(await asyncio.wait_for(ws.recv(), 5)))
        await ws.send(bytes(range(256)) * 300)
        got = await asyncio.wait_for(ws.recv(), 5)
        print("binary", len(got), got == bytes(range(256)) * 300)
        pong = await ws.ping(b"py")
        await asyncio.wait_for(pong, 5)
        print("pong ok")
        await ws.close(1000, "done")
        print("close", ws.close_code, repr(ws.close_reason))


asyncio.run(asyncio.wait_for(main(sys.argv[1]), 20))
