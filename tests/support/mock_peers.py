#!/usr/bin/python3
"""Both ends of a session for `socktap mock`'s tests, on Debian's python3-websockets with
permessage-deflate offered and accepted (its own implementation, not Socktap's).

  mock_peers.py server        prints "port N"; greets each client with {"hello":"welcome"}, answers each
                              text message M 50 ms later with "re: M", and "bye" with "see you" and then
                              a Close 4001 "done". Stops by itself after 60 s. 127.0.0.1 only.
  mock_peers.py client URL [--server-window N] M...
                              connects (offering permessage-deflate, with server_max_window_bits=N), reads the greeting, sends each M and
                              reads one answer to it (after "bye": everything until the close), printing a
                              JSON line per event: {"recv": text, "at": seconds since it sent the message
                              it answers} ... then {"closed": code, "reason": r, "deflate": bool}.
"""
import asyncio
import json
import sys
import time

import websockets


async def handler(ws, path=None):
    await ws.send('{"hello":"welcome"}')
    async for message in ws:
        if message == "bye":
            await ws.send("see you")
            await ws.close(4001, "done")
            return
        await asyncio.sleep(0.05)
        await ws.send("re: " + message)


async def serve():
    async with websockets.serve(handler, "127.0.0.1", 0, compression="deflate") as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print("port %d" % port, flush=True)
        await asyncio.sleep(60)


def say(**event):
    print(json.dumps(event), flush=True)


async def client(url, messages):
    # "--server-window N" first: offer permessage-deflate with server_max_window_bits=N (RFC 7692 7.1.2.1).
    extensions = None
    if messages[:1] == ["--server-window"]:
        from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
        extensions = [ClientPerMessageDeflateFactory(server_max_window_bits=int(messages[1]))]
        messages = messages[2:]
    kwargs = {"extensions": extensions, "compression": None} if extensions else {"compression": "deflate"}
    async with websockets.connect(url, open_timeout=10, **kwargs) as ws:
        deflate = any("Deflate" in type(e).__name__ for e in ws.extensions)
        sent = time.monotonic()
        try:
            say(recv=await asyncio.wait_for(ws.recv(), 10), at=time.monotonic() - sent)
            for m in messages:
                sent = time.monotonic()
                await ws.send(m)
                while True:
                    say(recv=await asyncio.wait_for(ws.recv(), 10), at=time.monotonic() - sent)
                    if m != "bye":
                        break
        except websockets.ConnectionClosed as e:
            say(closed=e.rcvd.code if e.rcvd else None, reason=e.rcvd.reason if e.rcvd else None,
                deflate=deflate)
            return
        await ws.close(1000, "client done")
        say(closed=ws.close_code, reason=ws.close_reason, deflate=deflate)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        asyncio.run(serve())
    else:
        asyncio.run(client(sys.argv[2], sys.argv[3:]))
