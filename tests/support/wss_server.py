#!/usr/bin/python3
"""A wss:// server for Socktap's tests, on Debian's python3-websockets with its own keepalive and closing
handshake (the server closes TCP after the Close frames cross, as RFC 6455 7.1.1 asks).

  wss_server.py CERT KEY      prints "port N"; echoes each text message; 50 ms after echoing "bye" it
                              closes with 1000 "bye" (a client that closes as soon as it has its
                              answers races that Close and loses). Stops by itself after 120 s.
                              127.0.0.1 only.
"""
import asyncio
import ssl
import sys

import websockets


async def handler(ws, path=None):
    async for message in ws:
        await ws.send(message)
        if message == "bye":
            await asyncio.sleep(0.05)
            await ws.close(1000, "bye")
            return


async def main():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    async with websockets.serve(handler, "127.0.0.1", 0, ssl=context) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print("port", port, flush=True)
        await asyncio.sleep(120)


asyncio.run(main())
