#!/usr/bin/python3
"""A permessage-deflate peer for Socktap's tests, built on Debian's python3-websockets (which compresses
with context takeover unless told otherwise; Qt's QWebSocket does not compress at all).

  deflate_peer.py server BITS NCT      echo server on 127.0.0.1: prints "port N", then one JSON line per
                                       message received (and the upgrade's X-Token header); echoes each
                                       text as "echo: <text>"
  deflate_peer.py client URL BITS NCT MESSAGE...
                                       sends every MESSAGE (in order), then reads echoes until it has one
                                       per message that reached the server or the server sends "bye"; prints
                                       one JSON line per message received, "negotiated <header>" and the
                                       101's X-Seen-By header

BITS is the max window bits both peers compress with (9..15); NCT is 1 for no_context_takeover both ways.
Everything stays on 127.0.0.1 and each side stops by itself (timeouts below).
"""
import asyncio
import json
import sys

import websockets
from websockets.extensions.permessage_deflate import (ClientPerMessageDeflateFactory,
                                                      ServerPerMessageDeflateFactory)


def server_factory(bits, nct):
    return ServerPerMessageDeflateFactory(server_no_context_takeover=nct, client_no_context_takeover=nct,
                                          server_max_window_bits=bits, client_max_window_bits=bits)


def client_factory(bits, nct):
    return ClientPerMessageDeflateFactory(server_no_context_takeover=nct, client_no_context_takeover=nct,
                                          server_max_window_bits=bits, client_max_window_bits=bits)


async def serve_main(bits, nct):
    async def echo(ws, path=None):
        print("request X-Token:", ws.request_headers.get("X-Token", ""), flush=True)
        try:
            async for message in ws:
                print(json.dumps({"received": message}), flush=True)
                await ws.send("bye" if message == "finish" else "echo: " + message)
        except websockets.ConnectionClosed:
            pass

    server = await websockets.serve(echo, "127.0.0.1", 0, compression=None,
                                    extensions=[server_factory(bits, nct)], ping_interval=None)
    port = server.sockets[0].getsockname()[1]
    print("port", port, flush=True)
    await asyncio.sleep(120)  # the test ends the process long before
    server.close()


async def client_main(url, bits, nct, messages):
    async with websockets.connect(url, compression=None, extensions=[client_factory(bits, nct)],
                                  ping_interval=None, open_timeout=10, close_timeout=2) as ws:
        print("negotiated", ws.response_headers.get("Sec-WebSocket-Extensions", ""), flush=True)
        print("response X-Seen-By:", ws.response_headers.get("X-Seen-By", ""), flush=True)
        for m in messages:
            await ws.send(m)
        await ws.send("finish")
        while True:
            reply = await asyncio.wait_for(ws.recv(), timeout=10)
            print(json.dumps({"received": reply}), flush=True)
            if reply == "bye":
                break


def main():
    mode = sys.argv[1]
    if mode == "server":
        asyncio.run(serve_main(int(sys.argv[2]), sys.argv[3] == "1"))
    else:
        asyncio.run(client_main(sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5:]))


if __name__ == "__main__":
    main()
