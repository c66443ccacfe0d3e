const http = require("http");
const ms = require("ms");

const started = Date.now();
const port = Number(process.env.PORT || 5000);

http
  .createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/plain" });
    res.end(`Hello from node-web (up ${ms(Date.now() - started)})\n`);
  })
  .listen(port, "0.0.0.0", () => console.log(`node-web listening on ${port}`));
