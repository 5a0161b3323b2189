// A client for spec/ws_deflate_clients_spec.lua: Node's ws with its default
// permessage-deflate offer. Prints the extensions in use, sends a compressible text of 20,000
// bytes, a short one and 100,000 random bytes, prints whether each came back exactly, closes.
const WebSocket = require("ws");
const crypto = require("crypto");

const ws = new WebSocket(process.argv[2]);
const msgs = ["a line that compresses well. ".repeat(690), "short", crypto.randomBytes(100000)];
let i = 0;
const bail = setTimeout(() => { console.log("timeout"); process.exit(2); }, 20000);

ws.on("open", () => {
    console.log("extensions " + Object.keys(ws._extensions).join(","));
    ws.send(msgs[0]);
});
ws.on("message", (data, isBinary) => {
    const want = msgs[i];
    const same = isBinary ? Buffer.compare(data, want) === 0 : data.toString() === want;
    console.log((isBinary ? "binary " : "text ") + data.length + " " + same);
    i++;
    if (i < msgs.length) ws.send(msgs[i]);
    else ws.close(1000);
});
ws.on("close", (code) => { console.log("close " + code); clearTimeout(bail); });
ws.on("error", (e) => { console.log("error " + e.message); process.exit(1); });
