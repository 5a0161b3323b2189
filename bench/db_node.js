// The "db" benchmark's Node.js peer (bench/db.sh): the same routes and JSON as
// bench/db_app.lua, on Node's http module and the `pg` package from npm (pure JavaScript,
// a pg.Pool of $PG_POOL_SIZE connections, 10 by default). One process, like lunaserve's one
// worker. db.sh installs `pg` at bench time (bench/db_node/package.json pins its version)
// and finds it through NODE_PATH.
//   GET /db?id=N  row N
//   GET /         a random row, chosen here (the harness always asks for /)
'use strict';
const http = require('http');
const { Pool } = require('pg');

const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL is not set');
  process.exit(1);
}
const port = Number(process.env.PORT) || 8080;
const ROWS = 10000;
const SQL = 'SELECT id, randomnumber AS "randomNumber" FROM world WHERE id = $1';
const pool = new Pool({
  connectionString: url,
  max: Number(process.env.PG_POOL_SIZE) || 10,
  connectionTimeoutMillis: 10000,
  query_timeout: 10000,
});
// an idle connection's error (the server went away) must not end the process
pool.on('error', (err) => console.error('idle connection:', err.message));

function fail(res, status, msg) {
  res.writeHead(status, { 'Content-Type': 'text/plain' });
  res.end(msg + '\n');
}

http.createServer((req, res) => {
  let id;
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  if (path === '/db') {
    const m = /^id=(\d+)$/.exec(q < 0 ? '' : req.url.slice(q + 1));
    id = m ? Number(m[1]) : 0;
    if (!(id >= 1 && id <= ROWS)) return fail(res, 400, 'id must be 1..' + ROWS);
  } else if (path === '/') {
    id = 1 + Math.floor(Math.random() * ROWS);
  } else {
    return fail(res, 404, 'not found');
  }
  pool.query(SQL, [id]).then((r) => {
    if (r.rows.length === 0) return fail(res, 404, 'no row ' + id);
    const body = JSON.stringify(r.rows[0]);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }, (err) => fail(res, 502, 'query: ' + err.message));
}).listen(port, '127.0.0.1');
