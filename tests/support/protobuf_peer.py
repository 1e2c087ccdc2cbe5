#!/usr/bin/python3
"""A protobuf-over-WebSocket peer for Socktap's tests, on Debian's python3-protobuf and python3-websockets:
the messages of tests/data/proto/market.proto, compiled with protoc at start.

  protobuf_peer.py server       prints "port N"; sends a Quote to each client (subprotocol "protobuf"),
                                answers each Order with an Ack. 127.0.0.1 only; stops by itself after 60 s.
  protobuf_peer.py client URL   receives the Quote, prints "quote SYMBOL BID SEQ", sends Order 7 for
                                -3 BTC-USD, prints "ack ID ACCEPTED NOTE", exits 0.
"""
import asyncio
import importlib
import os
import subprocess
import sys
import tempfile

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "..", "data", "proto")


def load_market():
    out = tempfile.mkdtemp(prefix="socktap-proto-")
    subprocess.run(["protoc", f"--proto_path={PROTO_DIR}", f"--python_out={out}", "market.proto"], check=True)
    sys.path.insert(0, out)
    return importlib.import_module("market_pb2")


market = load_market()


async def serve_one(ws, path=None):
    quote = market.Quote(symbol="BTC-USD", bid=64250.5, seq=123456789012, venues=["X", "Y"], flags=7)
    quote.book.bids.add(price=64250.5, size=3)
    quote.book.bids.add(price=64250.0, size=10)
    await ws.send(quote.SerializeToString())
    async for data in ws:
        order = market.Order()
        order.ParseFromString(data)
        ack = market.Ack(order_id=order.id, accepted=True, note=f"filled {order.qty} {order.symbol}")
        await ws.send(ack.SerializeToString())


async def server():
    async with websockets.serve(serve_one, "127.0.0.1", 0, subprotocols=["protobuf"]) as s:
        print("port", next(iter(s.sockets)).getsockname()[1], flush=True)
        await asyncio.sleep(60)


async def client(url):
    async with websockets.connect(url, subprotocols=["protobuf"]) as ws:
        quote = market.Quote()
        quote.ParseFromString(await asyncio.wait_for(ws.recv(), 10))
        print("quote", quote.symbol, quote.bid, quote.seq, flush=True)
        await ws.send(market.Order(id=7, symbol="BTC-USD", qty=-3, token=b"\x00\xffsecret").SerializeToString())
        ack = market.Ack()
        ack.ParseFromString(await asyncio.wait_for(ws.recv(), 10))
        print("ack", ack.order_id, ack.accepted, ack.note, flush=True)


if sys.argv[1] == "server":
    asyncio.run(server())
else:
    asyncio.run(client(sys.argv[2]))
