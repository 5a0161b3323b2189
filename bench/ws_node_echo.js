// The Node.js side of bench/ws_echo.sh: a WebSocket echo with the `ws` package (Debian's
// node-ws: run with NODE_PATH=/usr/share/nodejs), one process, on 127.0.0.1.
// Text and binary messages go back as they came; no permessage-deflate (ws's server default,
// and lunaserve does not offer it either).
//   usage: node bench/ws_node_echo.js PORT   (prints "listening PORT" once it listens)
"use strict";
const { WebSocketServer } = require("ws");

const port = Number(process.argv[2] || 0);
const wss = new WebSocketServer({ host: "127.0.0.1", port, perMessageDeflate: false });

wss.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => {
        ws.send(data, { binary: isBinary });
    });
    ws.on("error", () => {}); // a client that vanishes mid-run is not the server's failure
});

wss.on("listening", () => {
    console.log("listening " + wss.address().port);
});

process.on("SIGTERM", () => process.exit(0));
