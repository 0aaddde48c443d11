#!/usr/bin/env python3
"""Userspace stand-in for `tc qdisc add ... netem delay D J loss L`.

Some kernels (this project's CI VM among them) ship without sch_netem. This
helper gives the fault suite the same fault through netfilter instead: an
nftables rule in a test namespace hands every outgoing packet to NFQUEUE
number --queue, and this process holds each packet for a delay drawn
uniformly from [D-J, D+J] ms (netem's default jitter distribution; like
netem, a jittered packet may overtake an earlier one) before accepting it,
or drops it with probability L. The kernel keeps the packet; we only
decide when (and whether) it goes on, so checksums and offloads are untouched.

Raw netlink (NETLINK_NETFILTER, nfnetlink_queue), standard library only.
Runs until SIGTERM/SIGINT or --max-seconds, then accepts what it still holds.
Prints one line "nfq-delay ready" once bound, for the harness to wait on.
"""
import argparse
import heapq
import random
import select
import signal
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQA_CFG_QUEUE_MAXLEN = 3
NFQA_CFG_MASK = 4
NFQA_CFG_FLAGS = 5
NFQA_CFG_F_FAIL_OPEN = 1
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NF_DROP = 0
NF_ACCEPT = 1


def attr(kind, data):
    length = 4 + len(data)
    return struct.pack('=HH', length, kind) + data + b'\0' * ((4 - length % 4) % 4)


class Queue:
    def __init__(self, num):
        self.num = num
        self.seq = 0
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.sock.bind((0, 0))
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE (root)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)

    def send(self, msg_type, payload, flags=NLM_F_REQUEST):
        self.seq += 1
        nfgen = struct.pack('=BBH', socket.AF_UNSPEC, 0, socket.htons(self.num))
        body = nfgen + payload
        header = struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg_type, flags, self.seq, 0)
        self.sock.send(header + body)

    def expect_ack(self, what):
        data = self.sock.recv(65536)
        length, kind = struct.unpack_from('=IH', data, 0)
        if kind == NLMSG_ERROR:
            (err,) = struct.unpack_from('=i', data, 16)
            if err != 0:
                raise OSError(-err, f'nfqueue {what} refused by the kernel')

    def bind(self):
        self.send(NFQNL_MSG_CONFIG, attr(NFQA_CFG_CMD, struct.pack('>BBH', NFQNL_CFG_CMD_BIND, 0, 0)), NLM_F_REQUEST | NLM_F_ACK)
        self.expect_ack('bind')
        params = attr(NFQA_CFG_PARAMS, struct.pack('>IB', 0, NFQNL_COPY_META))
        params += attr(NFQA_CFG_QUEUE_MAXLEN, struct.pack('>I', 16384))
        # Fail open: if the queue ever fills, packets pass instead of vanishing.
        params += attr(NFQA_CFG_MASK, struct.pack('>I', NFQA_CFG_F_FAIL_OPEN))
        params += attr(NFQA_CFG_FLAGS, struct.pack('>I', NFQA_CFG_F_FAIL_OPEN))
        self.send(NFQNL_MSG_CONFIG, params, NLM_F_REQUEST | NLM_F_ACK)
        self.expect_ack('params')

    def verdict(self, packet_id, verdict):
        self.send(NFQNL_MSG_VERDICT, attr(NFQA_VERDICT_HDR, struct.pack('>II', verdict, packet_id)))

    def packets(self, data):
        """Packet ids in one datagram (it may hold several netlink messages)."""
        offset = 0
        while offset + 16 <= len(data):
            length, kind = struct.unpack_from('=IH', data, offset)
            if length < 16:
                break
            if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                pos = offset + 20
                end = offset + length
                while pos + 4 <= end:
                    alen, akind = struct.unpack_from('=HH', data, pos)
                    if alen < 4:
                        break
                    if (akind & 0x7FFF) == NFQA_PACKET_HDR:
                        yield struct.unpack_from('>I', data, pos + 4)[0]
                        break
                    pos += (alen + 3) & ~3
            offset += (length + 3) & ~3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--queue', type=int, default=0)
    parser.add_argument('--delay', type=float, default=50.0, help='mean one-way delay, ms')
    parser.add_argument('--jitter', type=float, default=20.0, help='uniform jitter, +/- ms')
    parser.add_argument('--loss', type=float, default=0.0, help='drop probability, 0..1')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--max-seconds', type=float, default=600.0, help='hard stop')
    args = parser.parse_args()

    rng = random.Random(args.seed)
    queue = Queue(args.queue)
    queue.bind()
    held = []  # heap of (due, seq, packet_id)
    stats = {'seen': 0, 'dropped': 0}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    deadline = time.monotonic() + args.max_seconds
    print('nfq-delay ready', flush=True)
    counter = 0
    while not stop and time.monotonic() < deadline:
        now = time.monotonic()
        while held and held[0][0] <= now:
            _, _, pid = heapq.heappop(held)
            queue.verdict(pid, NF_ACCEPT)
        timeout = max(0.0, held[0][0] - now) if held else 0.2
        try:
            ready, _, _ = select.select([queue.sock], [], [], min(timeout, 0.2))
        except InterruptedError:
            continue
        if not ready:
            continue
        try:
            data = queue.sock.recv(1 << 16)
        except BlockingIOError:
            continue
        except OSError as err:  # ENOBUFS: the kernel dropped notifications; keep going
            print(f'nfq-delay: recv: {err}', file=sys.stderr, flush=True)
            continue
        now = time.monotonic()
        for pid in queue.packets(data):
            stats['seen'] += 1
            if args.loss > 0 and rng.random() < args.loss:
                stats['dropped'] += 1
                queue.verdict(pid, NF_DROP)
                continue
            delay_ms = max(0.0, args.delay + rng.uniform(-args.jitter, args.jitter))
            counter += 1
            heapq.heappush(held, (now + delay_ms / 1000.0, counter, pid))
    for _, _, pid in held:
        queue.verdict(pid, NF_ACCEPT)
    print(f"nfq-delay done seen={stats['seen']} dropped={stats['dropped']}", flush=True)


if __name__ == '__main__':
    main()
