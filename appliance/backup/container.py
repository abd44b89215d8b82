"""The framed container around a backup's tar stream: integrity, truncation, optional encryption.

Layout (all integers big-endian)::

    header  = MAGIC (8 bytes "PBXBKP\\r\\n") | container version (1) | mode (1)
              [mode 1 only: log2(N) (1) | r (1) | p (1) | salt (16) | nonce prefix (7) | key check (16)]
              | SHA-256 of every header byte before it (32)
    frame*  = length (4, plaintext bytes, at most 4 MiB) | flags (1, bit 0: last frame) | body
      mode 0 (plain):     body = payload | SHA-256(header digest | counter (8) | flags | payload)
      mode 1 (encrypted): body = AES-256-GCM(key, nonce = prefix | counter (4) | flags, payload,
                                             associated data = header digest)   (payload + 16-byte tag)

Mode 1 derives 64 bytes from the passphrase with scrypt (N=2^15, r=8, p=1, the salt): the first 32
are the AES key, the key check is SHA-256("pbx-backup key check" | last 32)[:16], so a wrong passphrase
is told apart from a damaged archive. Frames are numbered (counter from 0) and the last one is flagged:
a reordered, dropped, flipped or appended frame, or a stream cut anywhere, is detected. Streams of any
size go through in frames of 1 MiB, never held whole in memory or on disk.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from appliance.backup.errors import BackupRefused

MAGIC = b"PBXBKP\r\n"
CONTAINER_VERSION = 1
MODE_PLAIN = 0
MODE_ENCRYPTED = 1
FRAME_SIZE = 1 << 20
MAX_FRAME = 4 << 20
SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P = 15, 8, 1
MIN_PASSPHRASE = 8
_CHECK_LABEL = b"pbx-backup key check"


def _derive(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> tuple[bytes, bytes]:
    if not (10 <= log2_n <= 20 and 1 <= r <= 16 and 1 <= p <= 4):
        raise BackupRefused("corrupted", "the archive's key-derivation parameters are out of range")
    material = Scrypt(salt=salt, length=64, n=1 << log2_n, r=r, p=p).derive(passphrase.encode("utf-8"))
    check = hashlib.sha256(_CHECK_LABEL + material[32:]).digest()[:16]
    return material[:32], check


class FrameWriter:
    """A write-only file object: what is written comes out framed (and encrypted) on `out`."""

    def __init__(self, out: BinaryIO, passphrase: str | None = None):
        self.out = out
        self._buffer = bytearray()
        self._counter = 0
        self._closed = False
        self.bytes_written = 0
        header = MAGIC + bytes([CONTAINER_VERSION])
        if passphrase is None:
            header += bytes([MODE_PLAIN])
            self._aead = None
        else:
            if len(passphrase) < MIN_PASSPHRASE:
                raise BackupRefused("passphrase_too_short",
                                    f"the passphrase must have at least {MIN_PASSPHRASE} characters")
            salt, self._prefix = os.urandom(16), os.urandom(7)
            key, check = _derive(passphrase, salt, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P)
            header += bytes([MODE_ENCRYPTED, SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P]) + salt + self._prefix + check
            self._aead = AESGCM(key)
        self._digest = hashlib.sha256(header).digest()
        self._emit(header + self._digest)

    @property
    def encrypted(self) -> bool:
        return self._aead is not None

    def _emit(self, data: bytes) -> None:
        self.out.write(data)
        self.bytes_written += len(data)

    def write(self, data) -> int:
        if self._closed:
            raise ValueError("write to a closed backup stream")
        self._buffer += data
        while len(self._buffer) >= FRAME_SIZE:
            self._frame(bytes(self._buffer[:FRAME_SIZE]), last=False)
            del self._buffer[:FRAME_SIZE]
        return len(data)

    def _frame(self, payload: bytes, last: bool) -> None:
        flags = 1 if last else 0
        if self._aead is None:
            tail = hashlib.sha256(self._digest + struct.pack(">QB", self._counter, flags) + payload).digest()
            body = payload + tail
        else:
            nonce = self._prefix + struct.pack(">IB", self._counter, flags)
            body = self._aead.encrypt(nonce, payload, self._digest)
        self._emit(struct.pack(">IB", len(payload), flags) + body)
        self._counter += 1

    def close(self) -> None:
        """Write the last frame (the end mark); the underlying stream stays open."""
        if not self._closed:
            self._frame(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._closed = True
            if hasattr(self.out, "flush"):
                self.out.flush()

    def flush(self) -> None:
        pass


def read_header(source: BinaryIO) -> dict:
    """Read and check the header; {"encrypted": bool, ...}. Refuses what is not one of our archives."""
    start = _read_exact(source, len(MAGIC) + 2, allow_short=True)
    if len(start) < len(MAGIC) + 2 or not start.startswith(MAGIC):
        if start[:6] == MAGIC[:6]:
            raise BackupRefused("truncated", "the archive ends inside its header")
        raise BackupRefused("foreign", "this file is not a backup made by this appliance")
    version, mode = start[len(MAGIC)], start[len(MAGIC) + 1]
    if version > CONTAINER_VERSION:
        raise BackupRefused("newer_version", f"the archive's container format {version} is newer than this "
                                             f"software's ({CONTAINER_VERSION}): update the appliance first")
    if mode not in (MODE_PLAIN, MODE_ENCRYPTED):
        raise BackupRefused("corrupted", "the archive's header is damaged (unknown mode)")
    extra = b"" if mode == MODE_PLAIN else _read_exact(source, 3 + 16 + 7 + 16)
    header = start + extra
    digest = _read_exact(source, 32)
    if not hmac.compare_digest(hashlib.sha256(header).digest(), digest):
        raise BackupRefused("corrupted", "the archive's header is damaged (checksum mismatch)")
    info = {"encrypted": mode == MODE_ENCRYPTED, "digest": digest, "header_size": len(header) + 32}
    if mode == MODE_ENCRYPTED:
        info.update(log2_n=extra[0], r=extra[1], p=extra[2], salt=extra[3:19], prefix=extra[19:26],
                    check=extra[26:42])
    return info


def _read_exact(source: BinaryIO, size: int, allow_short: bool = False) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = source.read(size - len(chunks))
        if not chunk:
            break
        chunks += chunk
    if len(chunks) < size and not allow_short:
        raise BackupRefused("truncated", "the archive is truncated (it ends before its end mark)")
    return bytes(chunks)


class FrameReader:
    """A read-only file object giving back the payload; raises BackupRefused at the first bad frame."""

    def __init__(self, source: BinaryIO, passphrase: str | None = None, header: dict | None = None):
        self.source = source
        self.header = header or read_header(source)
        self._digest = self.header["digest"]
        self._counter = 0
        self._buffer = b""
        self._offset = 0
        self._done = False
        self._aead = None
        if self.header["encrypted"]:
            if passphrase is None or passphrase == "":
                raise BackupRefused("passphrase_required", "this archive is encrypted: give its passphrase")
            key, check = _derive(passphrase, self.header["salt"], self.header["log2_n"], self.header["r"],
                                 self.header["p"])
            if not hmac.compare_digest(check, self.header["check"]):
                raise BackupRefused("wrong_passphrase", "wrong passphrase for this archive")
            self._aead = AESGCM(key)

    def _next_frame(self) -> None:
        head = _read_exact(self.source, 5)
        length, flags = struct.unpack(">IB", head)
        if length > MAX_FRAME or flags & ~1:
            raise BackupRefused("corrupted", "the archive is damaged (bad frame header)")
        last = bool(flags & 1)
        if self._aead is None:
            body = _read_exact(self.source, length + 32)
            payload, tail = body[:length], body[length:]
            expected = hashlib.sha256(self._digest + struct.pack(">QB", self._counter, flags) + payload).digest()
            if not hmac.compare_digest(expected, tail):
                raise BackupRefused("corrupted", "the archive is damaged (checksum mismatch)")
        else:
            body = _read_exact(self.source, length + 16)
            nonce = self.header["prefix"] + struct.pack(">IB", self._counter, flags)
            try:
                payload = self._aead.decrypt(nonce, body, self._digest)
            except InvalidTag:
                raise BackupRefused("corrupted", "the archive is damaged (authentication failed)") from None
        self._counter += 1
        self._buffer, self._offset = payload, 0
        if last:
            self._done = True
            if self.source.read(1):
                raise BackupRefused("corrupted", "the archive has data after its end mark")

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while size < 0 or len(out) < size:
            if self._offset >= len(self._buffer):
                if self._done:
                    break
                self._next_frame()
                continue
            take = len(self._buffer) - self._offset if size < 0 else min(size - len(out),
                                                                           len(self._buffer) - self._offset)
            out += self._buffer[self._offset:self._offset + take]
            self._offset += take
        return bytes(out)

    def finish(self) -> None:
        """Read to the end mark: refuses a stream cut short or damaged after what was consumed."""
        while self.read(FRAME_SIZE):
            pass
