// STAND-IN for FireEdge (/usr/lib/one/fireedge/dist/index.js), written by test/tools/node/image.sh into the
// real-node test image because FireEdge's npm build is not part of it. It listens where FireEdge would
// (host and port of /etc/one/fireedge-server.conf) and answers every request with 200 and a body saying
// what it is, so the entrypoint's fireedge role, its probe and the chart's `helm test` FireEdge pod run
// against a live HTTP server. It does not log in to oned, serve Sunstone or proxy guacd.
// An ES module: image.sh puts a package.json with "type": "module" beside it.
import fs from 'node:fs';
import http from 'node:http';

const conf = fs.readFileSync(process.env.FIREEDGE_CONF || '/etc/one/fireedge-server.conf', 'utf8');
const value = (key, fallback) => {
  const match = conf.match(new RegExp(`^${key}:\\s*['"]?([^'"\\s#]+)`, 'm'));
  return match ? match[1] : fallback;
};
const host = value('host', '0.0.0.0');
const port = Number(value('port', '2616'));
http
  .createServer((request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/plain' });
    response.end('FireEdge stand-in (opennebula-kubernetes real-node tests): not the real FireEdge\n');
  })
  .listen(port, host, () => console.log(`FireEdge stand-in listening on ${host}:${port}`));
