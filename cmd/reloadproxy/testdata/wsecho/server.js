// A WebSocket echo server for reloadproxy's end-to-end tests.
// Usage: node server.js PORT. Echoes every message with its type; a text
// message "close:CODE" makes the server close with that code.
const { WebSocketServer } = require('ws');
const port = Number(process.argv[2] || process.env.PORT);
const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 16 << 20 });
wss.on('connection', (sock) => {
  sock.on('message', (data, isBinary) => {
    const text = isBinary ? null : data.toString();
    if (text && text.startsWith('close:')) {
      sock.close(Number(text.slice(6)), 'bye');
      return;
    }
    sock.send(data, { binary: isBinary });
  });
});
wss.on('listening', () => console.log(`ws echo listening on ${port}`));
