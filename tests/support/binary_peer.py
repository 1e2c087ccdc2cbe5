#!/usr/bin/python3
"""A MessagePack or CBOR over WebSocket peer for Socktap's tests, on Debian's python3-msgpack, python3-cbor2
and python3-websockets. FORMAT is msgpack or cbor, which is also the subprotocol it speaks.

  binary_peer.py server FORMAT       prints "port N"; decodes each binary message, prints it as a JSON
                                     line, answers {"echo": <it>, "n": <how many so far>} in FORMAT.
                                     127.0.0.1 only; stops by itself after 60 s.
  binary_peer.py client URL FORMAT   sends a quote map (text, a float, an array, bytes and a timestamp:
                                     MessagePack's timestamp extension, CBOR's tag 0 date/time), prints
                                     the echo as JSON, then "done"; exits 0, or 1 after "error WHY".

In the JSON lines bytes are shown as hex strings and timestamps as ISO 8601 strings.
"""
import asyncio
import datetime
import json
import sys

import cbor2
import msgpack
import websockets

WHEN = datetime.datetime(2024, 5, 1, 12, 30, 0, 250000, tzinfo=datetime.timezone.utc)


def encode(fmt, value):
    if fmt == "msgpack":
        return msgpack.packb(value, use_bin_type=True)
    return cbor2.dumps(value)


def decode(fmt, data):
    if fmt == "msgpack":
        # timestamp=0: the timestamp extension as msgpack.Timestamp, so that the echo carries it unchanged.
        return msgpack.unpackb(data, raw=False, timestamp=0)
    return cbor2.loads(data)


def shown(value):
    """A decoded value as JSON-able data: bytes as hex, timestamps as ISO 8601."""
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, msgpack.Timestamp):
        return value.to_datetime().isoformat()
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(shown(k)): shown(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [shown(v) for v in value]
    return value


def as_json(value):
    return json.dumps(shown(value), separators=(",", ":"))


def sample(fmt):
    when = msgpack.Timestamp.from_datetime(WHEN) if fmt == "msgpack" else WHEN
    return {"type": "quote", "symbol": "ACME", "price": 10.5, "tags": ["a", "b"], "raw": b"\x01\x02", "when": when}


async def server(fmt):
    async def serve_one(ws, path=None):
        count = 0
        async for data in ws:
            if isinstance(data, str):
                continue  # only binary messages carry FORMAT
            value = decode(fmt, data)
            count += 1
            print(as_json(value), flush=True)
            await ws.send(encode(fmt, {"echo": value, "n": count}))

    async with websockets.serve(serve_one, "127.0.0.1", 0, subprotocols=[fmt]) as s:
        print("port", next(iter(s.sockets)).getsockname()[1], flush=True)
        await asyncio.sleep(60)


async def client(url, fmt):
    async with websockets.connect(url, subprotocols=[fmt]) as ws:
        await ws.send(encode(fmt, sample(fmt)))
        reply = await asyncio.wait_for(ws.recv(), 10)
        if isinstance(reply, str):
            raise RuntimeError(f"text reply {reply!r}")
        print(as_json(decode(fmt, reply)), flush=True)
    print("done", flush=True)


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "server" and sys.argv[2] in ("msgpack", "cbor"):
        asyncio.run(server(sys.argv[2]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "client" and sys.argv[3] in ("msgpack", "cbor"):
        try:
            asyncio.run(asyncio.wait_for(client(sys.argv[2], sys.argv[3]), 15))
        except Exception as e:  # noqa: BLE001 - any failure is the test's "error" line
            print("error", repr(e) if not str(e) else e, flush=True)
            sys.exit(1)
    else:
        sys.exit(__doc__)


main()
