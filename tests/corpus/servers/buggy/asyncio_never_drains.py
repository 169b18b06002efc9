"""An asyncio echo server that writes every reply without awaiting writer.drain(), so a client that never reads makes it keep every reply in memory, without limit.

Each client is served at once and gets every byte back, in order: asyncio's
transport queues what the socket cannot take.  Only a client that sends and
never reads shows it: the server keeps reading, and its memory grows by
every byte that client sends.

sockspec: model=evented reply=echo caught-by=test_client_that_never_reads_is_not_answered_into_memory causes=hoards-replies
"""

import asyncio
import sys


async def echo(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)  # no await writer.drain(): the transport's buffer grows without limit
    except ConnectionError:
        pass
    writer.close()


async def main():
    server = await asyncio.start_server(echo, "127.0.0.1", int(sys.argv[-1]), reuse_address=True)
    print("listening", flush=True)
    await server.serve_forever()


asyncio.run(main())
