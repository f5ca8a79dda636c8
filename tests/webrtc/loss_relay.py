"""A UDP relay between one WebRTC client and the node that drops a share of the node's RTP.

The client is made to believe the relay is the node: CandidateRewriter replaces the port of
every node candidate in an SDP answer with a relay's port. The relay sends what the client sends
on to the node's real port from a socket of its own (the ICE-lite node sees that address as the
client's, a peer-reflexive candidate) and sends the node's packets back to the client.

Only RTP from the node is ever dropped: RFC 7983 demultiplexes on the first byte (0–3 STUN,
20–63 DTLS, 128–191 RTP/RTCP) and RTCP is told from RTP by its packet type (RFC 5761: 192–223 in
the second byte). STUN and DTLS must get through or the connection itself would fail.
"""
import asyncio
import random
import re


def is_rtp(packet):
    return len(packet) >= 12 and 128 <= packet[0] <= 191 and not 192 <= packet[1] <= 223


class _Side(asyncio.DatagramProtocol):
    def __init__(self, on_datagram):
        self.on_datagram = on_datagram
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.on_datagram(data, addr)


class LossRelay:
    """Relays between the client (whoever sends to .port) and `node_addr`."""

    def __init__(self, node_addr, seed=7):
        self.node_addr = node_addr
        self.loss = 0.0                 # share of node→client RTP dropped now
        self.rng = random.Random(seed)
        self.client_addr = None
        self.port = None
        self.counts = {"to_node": 0, "to_client": 0, "rtp_to_client": 0, "rtp_dropped": 0}
        self._client_side = self._node_side = None

    async def start(self):
        loop = asyncio.get_running_loop()
        _, self._client_side = await loop.create_datagram_endpoint(
            lambda: _Side(self._from_client), local_addr=("127.0.0.1", 0))
        _, self._node_side = await loop.create_datagram_endpoint(
            lambda: _Side(self._from_node), local_addr=("127.0.0.1", 0))
        self.port = self._client_side.transport.get_extra_info("sockname")[1]
        return self

    def _from_client(self, data, addr):
        self.client_addr = addr
        self.counts["to_node"] += 1
        self._node_side.transport.sendto(data, self.node_addr)

    def _from_node(self, data, addr):
        if self.client_addr is None:
            return
        if is_rtp(data):
            self.counts["rtp_to_client"] += 1
            if self.loss and self.rng.random() < self.loss:
                self.counts["rtp_dropped"] += 1
                return
        self.counts["to_client"] += 1
        self._client_side.transport.sendto(data, self.client_addr)

    def close(self):
        for side in (self._client_side, self._node_side):
            if side and side.transport:
                side.transport.close()


class CandidateRewriter:
    """An answer filter for Peer: each UDP candidate of the node gets a LossRelay (one per
    distinct node address, kept across renegotiations) and the candidate its port."""

    CANDIDATE = re.compile(r"^(a=candidate:\S+ \d+ udp \d+ )(\S+) (\d+)( typ .*)$", re.M | re.I)

    def __init__(self, seed=7):
        self.seed = seed
        self.relays = {}  # (ip, port) of the node -> LossRelay

    async def __call__(self, sdp):
        for ip, port in {(m.group(2), int(m.group(3))) for m in self.CANDIDATE.finditer(sdp)}:
            if (ip, port) not in self.relays:
                self.relays[(ip, port)] = await LossRelay((ip, port), self.seed).start()

        def rewrite(m):
            relay = self.relays[(m.group(2), int(m.group(3)))]
            return f"{m.group(1)}127.0.0.1 {relay.port}{m.group(4)}"
        if not self.relays:
            raise AssertionError("the answer has no UDP candidate to relay: " + sdp)
        return self.CANDIDATE.sub(rewrite, sdp)

    def set_loss(self, share):
        for r in self.relays.values():
            r.loss = share

    def counts(self):
        total = {}
        for r in self.relays.values():
            for k, v in r.counts.items():
                total[k] = total.get(k, 0) + v
        return total

    def close(self):
        for r in self.relays.values():
            r.close()
