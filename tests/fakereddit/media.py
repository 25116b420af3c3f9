"""Real media bytes for the fake, made deterministically from a key.

JPEG, PNG and GIF are generated here (valid files with the right magic
numbers, a comment/text chunk carrying a key-derived payload so different
keys give different bytes). MP4s start from two tiny real files in
tests/data/media (H.264 video-only and AAC audio-only, so ffmpeg can mux
them with -c copy) and get a trailing top-level `free` box with the payload.
"""

import hashlib
import os
import random
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
MEDIA_DIR = os.path.join(os.path.dirname(HERE), "data", "media")

_mp4 = {}


def _payload(key, size):
    """size bytes of key-derived pseudo-random data."""
    return random.Random("payload/" + key).randbytes(size)


def _sizefor(key, lo=2000, hi=12000):
    h = int.from_bytes(hashlib.sha256(("size" + key).encode()).digest()[:4],
                       "big")
    return lo + h % (hi - lo)


def jpeg(key, size=None):
    """Baseline grayscale 8x8 JPEG with a COM segment of payload."""
    size = size if size is not None else _sizefor(key)
    pay = _payload(key, max(16, size - 200))
    out = bytearray(b"\xff\xd8")                       # SOI
    out += b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00" \
        + struct.pack(">HH", 1, 1) + b"\x00\x00"
    # COM segments (max 65533 payload bytes each)
    for i in range(0, len(pay), 65000):
        chunk = pay[i:i + 65000].replace(b"\xff", b"\xfe")
        out += b"\xff\xfe" + struct.pack(">H", len(chunk) + 2) + chunk
    out += b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + b"\x01" * 64  # DQT
    out += b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 8, 8, 1) \
        + b"\x01\x11\x00"                              # SOF0, 1 component
    # Standard luminance DC and AC Huffman tables (ITU T.81 Annex K).
    dc_bits = bytes([0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    dc_vals = bytes(range(12))
    out += b"\xff\xc4" + struct.pack(">H", 3 + 16 + 12) + b"\x00" \
        + dc_bits + dc_vals
    ac_bits = bytes([0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d])
    ac_vals = bytes.fromhex(
        "01020300041105122131410613516107227114328191a1082342b1c11552d1f0"
        "2433627282090a161718191a25262728292a3435363738393a434445464748494a"
        "535455565758595a636465666768696a737475767778797a838485868788898a"
        "92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6"
        "c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa")
    out += b"\xff\xc4" + struct.pack(">H", 3 + 16 + len(ac_vals)) + b"\x10" \
        + ac_bits + ac_vals
    out += b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00" \
        + b"\x00\x3f\x00"                              # SOS
    # One block, DC diff 0 (code 00), EOB (code 1010), padded with 1s.
    out += b"\x2b"
    out += b"\xff\xd9"                                 # EOI
    return bytes(out)


def _png_chunk(typ, data):
    c = typ + data
    return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c))


def png(key, size=None):
    size = size if size is not None else _sizefor(key)
    v = hashlib.sha256(key.encode()).digest()
    w = h = 4
    rows = b"".join(b"\x00" + bytes(v[:3]) * w for _ in range(h))
    out = b"\x89PNG\r\n\x1a\n"
    out += _png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    pay = _payload(key, max(16, size - 120))
    out += _png_chunk(b"tEXt", b"Comment\x00" + pay.replace(b"\x00", b"-"))
    out += _png_chunk(b"IDAT", zlib.compress(rows))
    out += _png_chunk(b"IEND", b"")
    return out


def gif(key, size=None, frames=2):
    """GIF89a, 1x1, `frames` frames (animated when > 1), comment payload."""
    size = size if size is not None else _sizefor(key)
    out = bytearray(b"GIF89a\x01\x00\x01\x00\x80\x00\x00")
    v = hashlib.sha256(key.encode()).digest()
    out += bytes(v[:3]) + b"\x00\x00\x00"              # 2-colour table
    if frames > 1:
        out += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    pay = _payload(key, max(16, size - 60 - 20 * frames))
    out += b"\x21\xfe"
    for i in range(0, len(pay), 255):
        blk = pay[i:i + 255]
        out += bytes([len(blk)]) + blk
    out += b"\x00"
    for i in range(frames):
        out += b"\x21\xf9\x04\x04\x0a\x00\x00\x00"     # GCE, 0.1 s
        out += b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00"
        out += b"\x02\x02" + (b"\x44\x01" if i % 2 == 0 else b"\x4c\x01") \
            + b"\x00"
    out += b"\x3b"
    return bytes(out)


def _base_mp4(which):
    if which not in _mp4:
        with open(os.path.join(MEDIA_DIR, which + ".mp4"), "rb") as f:
            _mp4[which] = f.read()
    return _mp4[which]


def mp4(key, which="video", size=None):
    """A real MP4 (which = video | audio) plus a `free` box of payload."""
    base = _base_mp4(which)
    size = size if size is not None else _sizefor(key, len(base) + 500,
                                                  len(base) + 8000)
    pay = _payload(key, max(16, size - len(base) - 8))
    return base + struct.pack(">I", 8 + len(pay)) + b"free" + pay


def html_page(title):
    return ("<!doctype html>\n<html><head><title>%s</title></head>"
            "<body><h1>%s</h1><p>This is a web page, not media.</p>"
            "</body></html>\n" % (title, title)).encode()


def dash_manifest(video_name, audio_name, duration=1):
    """DASHPlaylist.mpd like v.redd.it's: one video set, optional audio set."""
    audio = ""
    if audio_name:
        audio = (
            '  <AdaptationSet segmentAlignment="true" subsegmentAlignment="true"'
            ' subsegmentStartsWithSAP="1" contentType="audio" lang="und">\n'
            '   <Representation id="5" mimeType="audio/mp4" codecs="mp4a.40.2"'
            ' bandwidth="129493" audioSamplingRate="48000" startWithSAP="1">\n'
            '    <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3'
            ':audio_channel_configuration:2011" value="2"/>\n'
            '    <BaseURL>%s</BaseURL>\n'
            '    <SegmentBase indexRange="820-887" timescale="48000">'
            '<Initialization range="0-819"/></SegmentBase>\n'
            '   </Representation>\n'
            '  </AdaptationSet>\n' % audio_name)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" minBufferTime="PT1.500S"'
        ' type="static" mediaPresentationDuration="PT%d.000S"'
        ' maxSegmentDuration="PT2.000S"'
        ' profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">\n'
        ' <Period duration="PT%d.000S">\n'
        '  <AdaptationSet segmentAlignment="true" subsegmentAlignment="true"'
        ' subsegmentStartsWithSAP="1" contentType="video" maxWidth="64"'
        ' maxHeight="64" par="1:1">\n'
        '   <Representation id="2" mimeType="video/mp4" codecs="avc1.4d401f"'
        ' width="64" height="64" frameRate="10" sar="1:1" startWithSAP="1"'
        ' bandwidth="1200000">\n'
        '    <BaseURL>%s</BaseURL>\n'
        '    <SegmentBase indexRange="900-967" timescale="10">'
        '<Initialization range="0-899"/></SegmentBase>\n'
        '   </Representation>\n'
        '  </AdaptationSet>\n'
        '%s'
        ' </Period>\n'
        '</MPD>\n' % (duration, duration, video_name, audio)).encode()


def hls_master(video_name, audio_name):
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if audio_name:
        lines.append('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="audio",'
                     'DEFAULT=YES,URI="%s"' % audio_name)
        lines.append('#EXT-X-STREAM-INF:BANDWIDTH=1200000,RESOLUTION=64x64,'
                     'AUDIO="aud"')
    else:
        lines.append('#EXT-X-STREAM-INF:BANDWIDTH=1200000,RESOLUTION=64x64')
    lines.append(video_name)
    return ("\n".join(lines) + "\n").encode()


CONTENT_TYPES = {
    "jpeg": "image/jpeg", "jpg": "image/jpeg", "png": "image/png",
    "gif": "image/gif", "mp4": "video/mp4", "mpd": "application/dash+xml",
    "m3u8": "application/vnd.apple.mpegurl", "html": "text/html; charset=UTF-8",
}


def make(kind, key, size=None):
    """Bytes for a media kind: jpeg png gif mp4 audio."""
    if kind in ("jpeg", "jpg"):
        return jpeg(key, size)
    if kind == "png":
        return png(key, size)
    if kind == "gif":
        return gif(key, size)
    if kind == "mp4":
        return mp4(key, "video", size)
    if kind == "audio":
        return mp4(key, "audio", size)
    raise ValueError(kind)


def sha256(b):
    return hashlib.sha256(b).hexdigest()
