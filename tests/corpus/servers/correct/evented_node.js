/* A Node.js echo server: the net module's one event loop serves every client, and pipe() waits for a slow reader before reading more.
 *
 * Node keeps a fixed handful of threads of its own (V8's platform workers, libuv's
 * pool), none per client: net sockets are served by the loop alone.  allowHalfOpen
 * keeps a half-closed connection open until the echo is out; pipe() ends it then.
 * A reset client's error is its own: the server goes on.
 *
 * sockspec: model=evented reply=echo
 */
'use strict';
const net = require('net');

const port = Number(process.argv[process.argv.length - 1]);
const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    socket.on('error', () => socket.destroy()); // ECONNRESET, EPIPE: this client is gone, nobody else
    socket.pipe(socket);
});
server.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
