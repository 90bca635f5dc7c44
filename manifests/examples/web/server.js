// A small HTTP service: answers every request with the name of the replica that served it.
const http = require('node:http');
const os = require('node:os');

const port = Number(process.env.PORT || 8080);
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(`hello from ${os.hostname()}\n`);
});
server.listen(port, () => console.log(`web: listening on ${port} as ${os.hostname()}`));
// A replica is stopped with SIGTERM: finish open requests, then exit.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
