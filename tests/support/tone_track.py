"""An aiortc audio track for the tests' WebRTC peers: a 440 Hz sine in 20 ms mono frames at
48 kHz, paced in real time, so that a receiver can tell the tone (loud) from silence."""
import asyncio
import fractions
import time

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame


class ToneTrack(MediaStreamTrack):
    kind = "audio"
    RATE, SAMPLES = 48000, 960

    def __init__(self, amplitude):
        super().__init__()
        self.amplitude = amplitude
        self._start = None
        self._timestamp = 0

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._timestamp += self.SAMPLES
            await asyncio.sleep(self._start + self._timestamp / self.RATE - time.time())
        t = np.arange(self._timestamp, self._timestamp + self.SAMPLES) / self.RATE
        samples = (np.sin(2 * np.pi * 440 * t) * self.amplitude).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.pts = self._timestamp
        frame.sample_rate = self.RATE
        frame.time_base = fractions.Fraction(1, self.RATE)
        return frame
