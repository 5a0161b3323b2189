"""A client for spec/ws_deflate_clients_spec.lua: Python's websockets with its default
permessage-deflate offer. Prints the extensions in use, then sends a compressible text of
20,000 bytes, a short one, and 100,000 random bytes, and prints whether each came back
exactly; closes with 1000."""
import asyncio
import os
import sys

import websockets


async def main(url):
    async with websockets.connect(url, open_timeout=5, close_timeout=5) as ws:
        print("extensions", [e.name for e in ws.extensions])
        text = "a line that compresses well. " * 690
        for msg in (text, "short", os.urandom(100000)):
            await ws.send(msg)
            got = await asyncio.wait_for(ws.recv(), 5)
            print(type(msg).__name__, len(got), got == msg)
        await ws.close(1000)
        print("close", ws.close_code)


asyncio.run(asyncio.wait_for(main(sys.argv[1]), 20))
