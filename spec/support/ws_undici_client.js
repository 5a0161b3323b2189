// A WebSocket client for spec/ws_undici_client_spec.lua: undici's WebSocket (Debian's
// node-undici, through NODE_PATH=/usr/share/nodejs), the WHATWG API that browsers have.
// Connects to argv[2] offering the subprotocol "chat" (undici 5.15 compares the answer with
// its whole offer, so it can offer only one), sends a text and a binary message, closes with
// 1000, and prints what it saw, one line each.
const { WebSocket } = require("undici");

const ws = new WebSocket(process.argv[2], ["chat"]);
ws.binaryType = "arraybuffer";
// 70000 bytes: a 64-bit length (undici 5.15 writes 16-bit lengths at the wrong offset of its
// pooled buffer, so it cannot send 126 to 65535 bytes correctly)
const bin = new Uint8Array(70000).map((_, i) => i & 255);
const bail = setTimeout(() => { console.log("timeout"); process.exit(2); }, 20000);

ws.onopen = () => {
    console.log("open protocol=" + ws.protocol + " extensions=" + JSON.stringify(ws.extensions));
    ws.send("héllo from undici");
};
ws.onmessage = (e) => {
    if (typeof e.data === "string") {
        console.log("text " + e.data);
        ws.send(bin);
    } else {
        const got = new Uint8Array(e.data);
        console.log("binary " + got.length + " " + got.every((b, i) => b === bin[i]));
        ws.close(1000, "done");
    }
};
ws.onclose = (e) => {
    console.log("close " + e.code + " clean=" + e.wasClean);
    clearTimeout(bail);
};
ws.onerror = (e) => { console.log("error " + (e.message || e.type)); };
