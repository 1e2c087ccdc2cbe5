#!/usr/bin/python3
"""A ws:// echo server for Socktap's tests with python3-websockets' own keepalive: it pings every
INTERVAL seconds and closes with 1011 "keepalive ping timeout" when no Pong comes within TIMEOUT.

  keepalive_server.py INTERVAL TIMEOUT    prints "port N", then "received TEXT" per message and
                                          "closed CODE REASON" when a connection ends. 127.0.0.1 only;
                                          stops by itself after 60 s.
"""
import asyncio
import sys

import websockets


async def handler(ws, path=None):
    try:
        async for message in ws:
            print("received", message, flush=True)
            await ws.send(message)
    finally:
        print("closed", ws.close_code, ws.close_reason, flush=True)


async def main():
    interval, timeout = float(sys.argv[1]), float(sys.argv[2])
    async with websockets.serve(handler, "127.0.0.1", 0, ping_interval=interval, ping_timeout=timeout) as server:
        print("port", next(iter(server.sockets)).getsockname()[1], flush=True)
        await asyncio.sleep(60)


asyncio.run(main())
