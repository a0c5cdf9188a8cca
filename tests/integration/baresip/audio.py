#!/usr/bin/env python3
"""Audio for call_baresip.sh, made and checked at test time.
  audio.py make FILE HZ SEED   8 s of 8 kHz mono 16-bit: a sine at HZ plus a
                               little seeded noise, so that no two 20 ms
                               frames (RTP payloads) are alike
  audio.py tone FILE HZ OTHER  exit 0 if, in the second half of FILE, the
                               energy at HZ is at least 10 times that at OTHER
                               (the far end's tone arrived, not our own)"""
import math
import random
import struct
import sys
import wave


def make(path, hz, seed):
    rnd = random.Random(seed)
    frames = bytearray()
    for i in range(8000 * 8):
        v = 8000 * math.sin(2 * math.pi * hz * i / 8000) + rnd.randint(-400, 400)
        frames += struct.pack('<h', int(v))
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(frames))


def goertzel(samples, rate, hz):
    k = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    return s1 * s1 + s2 * s2 - k * s1 * s2


def tone(path, hz, other):
    with wave.open(path, 'rb') as w:
        rate, n = w.getframerate(), w.getnframes()
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            sys.exit(f'{path}: not mono 16-bit')
        data = w.readframes(n)
    samples = struct.unpack(f'<{len(data) // 2}h', data)[len(data) // 4:]
    if len(samples) < rate:
        sys.exit(f'{path}: {len(samples)} samples in the second half, less than 1 s of audio')
    want, unwanted = goertzel(samples, rate, hz), goertzel(samples, rate, other)
    print(f'{path}: {len(samples) / rate:.1f} s analysed, {hz} Hz / {other} Hz energy = '
          f'{want / max(unwanted, 1e-9):.1f}')
    sys.exit(0 if want >= 10 * unwanted else 1)


if __name__ == '__main__':
    if len(sys.argv) == 5 and sys.argv[1] == 'make':
        make(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) == 5 and sys.argv[1] == 'tone':
        tone(sys.argv[2], float(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(__doc__)
