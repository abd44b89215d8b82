"""SFTP limited to the backup folder (<data>/backups, or the volume storage placed backups on).

Like OpenSSH's ChrootDirectory, the client sees the backup folder as "/":
an absolute path names a file inside it, `..` never climbs above it (a path
that tries is refused), and a symbolic link whose target lies outside the
folder is refused (links cannot be created over SFTP either). Only accounts
with the admin role get the subsystem (ssh.py checks before starting it).
"""

from __future__ import annotations

import errno
import os
import posixpath
from pathlib import Path

import paramiko
from paramiko.sftp import SFTP_OK, SFTP_OP_UNSUPPORTED, SFTP_PERMISSION_DENIED


class OutsideRoot(Exception):
    pass


class BackupHandle(paramiko.SFTPHandle):
    def stat(self):
        try:
            return paramiko.SFTPAttributes.from_stat(os.fstat(self.filehandle.fileno()))
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)

    def chattr(self, attr):
        return SFTP_PERMISSION_DENIED


class BackupFolderSFTP(paramiko.SFTPServerInterface):
    def __init__(self, server, *args, root: str | os.PathLike = "", **kwargs):
        super().__init__(server, *args, **kwargs)
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    # -- paths --------------------------------------------------------------------------------
    def _virtual(self, path: str) -> str:
        """The normalised path as the client sees it ('/'-rooted); OutsideRoot if `..` climbs above '/'."""
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        if "\x00" in path:
            raise OutsideRoot(path)
        parts: list[str] = []
        for part in path.replace("\\", "/").split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    raise OutsideRoot(path)
                parts.pop()
                continue
            parts.append(part)
        return "/" + "/".join(parts)

    def _real(self, path: str, follow: bool = True) -> Path:
        """The file under the root for a client path; OutsideRoot if it (or a link on the way) leaves it."""
        virtual = self._virtual(path)
        real = self.root.joinpath(*[p for p in virtual.split("/") if p])
        resolved = real.resolve() if follow else real.parent.resolve() / real.name
        if resolved != self.root and self.root not in resolved.parents:
            raise OutsideRoot(path)
        return resolved if follow else real

    def _guard(self, fn, *args):
        try:
            return fn(*args)
        except OutsideRoot:
            return SFTP_PERMISSION_DENIED
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)

    # -- interface ----------------------------------------------------------------------------
    def canonicalize(self, path):
        try:
            return self._virtual(path if str(path).startswith("/") else "/" + str(path))
        except OutsideRoot:
            return "/"

    def list_folder(self, path):
        def go():
            folder = self._real(path)
            out = []
            for name in sorted(os.listdir(folder)):
                attr = paramiko.SFTPAttributes.from_stat(os.lstat(folder / name))
                attr.filename = name
                out.append(attr)
            return out
        return self._guard(go)

    def stat(self, path):
        return self._guard(lambda: paramiko.SFTPAttributes.from_stat(os.stat(self._real(path))))

    def lstat(self, path):
        def go():
            real = self._real(path, follow=False)
            if real.is_symlink():
                self._real(path)  # a link pointing outside is refused even to lstat
            return paramiko.SFTPAttributes.from_stat(os.lstat(real))
        return self._guard(go)

    def open(self, path, flags, attr):
        def go():
            real = self._real(path)
            mode = getattr(attr, "st_mode", None) or 0o600
            fd = os.open(real, flags | getattr(os, "O_NOFOLLOW", 0), mode & 0o777)
            if flags & os.O_WRONLY:
                fstr = "ab" if flags & os.O_APPEND else "wb"
            elif flags & os.O_RDWR:
                fstr = "a+b" if flags & os.O_APPEND else "r+b"
            else:
                fstr = "rb"
            fobj = os.fdopen(fd, fstr)
            handle = BackupHandle(flags)
            handle.filename = str(real)
            handle.readfile = fobj
            handle.writefile = fobj
            return handle
        return self._guard(go)

    def remove(self, path):
        return self._guard(lambda: (os.remove(self._real(path, follow=False)), SFTP_OK)[1])

    def rename(self, oldpath, newpath):
        return self._guard(lambda: (os.rename(self._real(oldpath, follow=False), self._real(newpath)), SFTP_OK)[1])

    def posix_rename(self, oldpath, newpath):
        return self.rename(oldpath, newpath)

    def mkdir(self, path, attr):
        return self._guard(lambda: (os.mkdir(self._real(path), 0o700), SFTP_OK)[1])

    def rmdir(self, path):
        def go():
            real = self._real(path)
            if real == self.root:
                raise OSError(errno.EACCES, "the backup folder itself stays")
            os.rmdir(real)
            return SFTP_OK
        return self._guard(go)

    def chattr(self, path, attr):
        return SFTP_PERMISSION_DENIED

    def symlink(self, target_path, path):
        return SFTP_PERMISSION_DENIED

    def readlink(self, path):
        def go():
            real = self._real(path, follow=False)
            target = self._real(path)  # refused if it leaves the folder
            if not real.is_symlink():
                return SFTP_OP_UNSUPPORTED
            return "/" + posixpath.join(*target.relative_to(self.root).parts) if target != self.root else "/"
        return self._guard(go)
