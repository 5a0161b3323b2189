#!/usr/bin/python3
"""Test support: drives Debian's headless Chromium through the DevTools protocol (CDP over
a WebSocket, with Debian's python3-websockets) to run a plan of steps against pages served
on loopback, and prints the outcome as one JSON object.

    browser.py PLAN.json PIDFILE

PLAN is {"steps": [...]}, each step one of:
    {"open": NAME, "url": URL}        a new page (tab) NAME, loaded (its load event)
    {"eval": NAME, "js": EXPR}        the value of EXPR in page NAME (awaited if a promise)
    {"wait": NAME, "js": EXPR, "timeout": S}   EXPR again every 50 ms until it is truthy
    {"reload": NAME}                  reloads page NAME and waits for its load event
The output is {"ok": true, "results": [one per eval and wait]} or {"ok": false, "error": ...,
"step": N}. Chromium runs with a new empty profile in a temporary folder, is started and
stopped here (its PID is written to PIDFILE first, for the caller to kill should this
script itself be killed), and reaches nothing but what the plan opens."""

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

import websockets

CHROMIUM = os.environ.get("LUNASERVE_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"]
START_TIMEOUT = 20
STEP_TIMEOUT = 15


class Cdp:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.pending = {}
        self.events = []  # (session, method, params) not yet taken
        self.event_arrived = asyncio.Event()
        self.reader = asyncio.ensure_future(self.read())

    async def read(self):
        async for raw in self.ws:
            msg = json.loads(raw)
            if "id" in msg:
                fut = self.pending.pop(msg["id"], None)
                if fut and not fut.done():
                    fut.set_result(msg)
            else:
                self.events.append((msg.get("sessionId"), msg.get("method"), msg.get("params")))
                self.event_arrived.set()

    async def call(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        fut = asyncio.get_event_loop().create_future()
        self.pending[self.next_id] = fut
        await self.ws.send(json.dumps(msg))
        reply = await asyncio.wait_for(fut, STEP_TIMEOUT)
        if "error" in reply:
            raise RuntimeError("%s: %s" % (method, reply["error"].get("message")))
        return reply.get("result", {})

    async def wait_event(self, session, method):
        while True:
            for i, (s, m, p) in enumerate(self.events):
                if s == session and m == method:
                    del self.events[i]
                    return p
            self.event_arrived.clear()
            await asyncio.wait_for(self.event_arrived.wait(), STEP_TIMEOUT)


async def evaluate(cdp, session, js):
    r = await cdp.call("Runtime.evaluate", {"expression": js, "awaitPromise": True,
                                            "returnByValue": True}, session)
    if "exceptionDetails" in r:
        d = r["exceptionDetails"]
        raise RuntimeError("exception in page: %s" % (d.get("exception", {}).get("description")
                                                       or d.get("text")))
    return r.get("result", {}).get("value")


async def load(cdp, session, action):
    cdp.events = [e for e in cdp.events if not (e[0] == session and e[1] == "Page.loadEventFired")]
    await action()
    await cdp.wait_event(session, "Page.loadEventFired")


async def run(ws_url, steps):
    results = []
    pages = {}
    async with websockets.connect(ws_url, max_size=None, open_timeout=START_TIMEOUT) as ws:
        cdp = Cdp(ws)
        for n, step in enumerate(steps, 1):
            try:
                if "open" in step:
                    target = await cdp.call("Target.createTarget", {"url": "about:blank"})
                    att = await cdp.call("Target.attachToTarget", {"targetId": target["targetId"],
                                                                   "flatten": True})
                    session = att["sessionId"]
                    pages[step["open"]] = session
                    await cdp.call("Page.enable", None, session)
                    await cdp.call("Runtime.enable", None, session)
                    await load(cdp, session, lambda: cdp.call("Page.navigate", {"url": step["url"]},
                                                              session))
                elif "eval" in step:
                    results.append(await evaluate(cdp, pages[step["eval"]], step["js"]))
                elif "wait" in step:
                    deadline = asyncio.get_event_loop().time() + float(step.get("timeout", 5))
                    while True:
                        v = await evaluate(cdp, pages[step["wait"]], step["js"])
                        if v:
                            results.append(v)
                            break
                        if asyncio.get_event_loop().time() > deadline:
                            raise RuntimeError("timed out waiting for: %s (last value %r)"
                                               % (step["js"], v))
                        await asyncio.sleep(0.05)
                elif "reload" in step:
                    session = pages[step["reload"]]
                    await load(cdp, session, lambda: cdp.call("Page.reload", {"ignoreCache": True},
                                                              session))
                else:
                    raise RuntimeError("unknown step %r" % step)
            except Exception as e:  # the step's failure, with its number
                return {"ok": False, "step": n, "error": "%s: %s" % (type(e).__name__, e),
                        "results": results}
        cdp.reader.cancel()
    return {"ok": True, "results": results}


def main():
    plan = json.load(open(sys.argv[1]))
    pidfile = sys.argv[2]
    profile = tempfile.mkdtemp(prefix="lunaserve-chromium.")
    proc = None
    try:
        proc = subprocess.Popen([CHROMIUM] + FLAGS + ["--user-data-dir=" + profile, "about:blank"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)
        with open(pidfile, "w") as f:
            f.write(str(proc.pid))
        ws_url = None
        log = []
        signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError()))
        signal.alarm(START_TIMEOUT)
        try:
            for _ in range(10000):  # lines (the alarm bounds the time)
                line = proc.stderr.readline().decode("utf-8", "replace")
                if not line:
                    break
                log.append(line)
                m = re.search(r"DevTools listening on (ws://\S+)", line)
                if m:
                    ws_url = m.group(1)
                    break
        except TimeoutError:
            pass
        finally:
            signal.alarm(0)
        if not ws_url:
            print(json.dumps({"ok": False, "step": 0, "error": "chromium did not start: "
                              + "".join(log[-20:])}))
            return 1
        # (stderr is no longer read: send it nowhere, or a full pipe would stall chromium)
        threading_drain(proc)
        out = asyncio.run(run(ws_url, plan["steps"]))
        print(json.dumps(out))
        return 0 if out["ok"] else 1
    finally:
        if proc:
            # every process of the browser at once (its sockets close with them), then reap it
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except Exception:
                pass
            try:
                proc.wait(10)
            except Exception:
                pass
        shutil.rmtree(profile, ignore_errors=True)


def threading_drain(proc):
    import threading

    def drain():
        for _ in iter(lambda: proc.stderr.read(65536), b""):
            pass
    threading.Thread(target=drain, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
