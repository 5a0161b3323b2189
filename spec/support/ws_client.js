// A WebSocket client for spec/ws_node_client_spec.lua: Node's `ws` (Debian's node-ws, found
// through NODE_PATH=/usr/share/nodejs). Connects to the URL in argv[2], sends a text and a
// binary message and a ping, reads the echoes and the pong, closes with 1000, and prints what
// it saw, one line each, for the spec to compare exactly.
const WebSocket = require("ws");

const url = process.argv[2];
const ws = new WebSocket(url);
const bin = Buffer.alloc(70000, 7);
const seen = [];
const bail = setTimeout(() => { console.log("timeout after", seen); process.exit(2); }, 20000);

ws.on("open", () => ws.send("héllo from node"));
ws.on("message", (data, isBinary) => {
    if (!isBinary) {
        console.log("text " + data.toString());
        ws.send(bin);
    } else {
        console.log("binary " + data.length + " " + Buffer.compare(data, bin));
        ws.ping("nd");
    }
});
ws.on("pong", (data) => {
    console.log("pong " + data.toString());
    ws.close(1000, "done");
});
ws.on("close", (code, reason) => {
    console.log("close " + code + " '" + reason.toString() + "'");
    clearTimeout(bail);
});
ws.on("error", (e) => { console.log("error " + e.message); process.exit(1); });
