"""Where a node's register lives: a small map from the node's storage backend to a maker, so a new store is
one line (and repository.py stays free of the implementations that import it); and where the register keeps
the files of its decisions (:class:`DocumentStore`), whatever the backend."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from decisions.errors import NotFound
from decisions.repository import Repository
from geoportal.config import NodeConfig
from geoportal.errors import StoreError

#: the folder of the workspace holding the documents' bytes, named by their sha256
DOCUMENTS_DIR = "decision-documents"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
_BLOCK = 1 << 20


def open_repository(cfg: NodeConfig, workspace_root: Path) -> Repository:
    """The register of a node, where its layers are: a PostGIS node keeps it in its schema, any other in
    ``<workspace>/decisions.gpkg``."""
    from decisions.repo_gpkg import GpkgRepository
    from decisions.repo_postgis import PostgisRepository

    makers = {"postgis": lambda: PostgisRepository(cfg.storage.dsn or "", cfg.storage.schema_)}
    return makers.get(cfg.storage.backend, lambda: GpkgRepository(workspace_root / "decisions.gpkg"))()


def media_type(name: str) -> str:
    """The Content-Type a document is served with, from its file name (what the official uploaded)."""
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def document_path(decision_id: str, sha256: str) -> str:
    """Where a decision's document is served, under the node's ``/decisions/`` (one form for the page, the
    OGC API item and the web route)."""
    from urllib.parse import quote

    return f"decisions/{quote(decision_id, safe='')}/documents/{sha256}"


def open_documents(workspace_root: Path) -> "DocumentStore":
    """The documents of a node's register: ``<workspace>/decision-documents`` for a GeoPackage and a PostGIS
    register alike (the files are the node's, like its pages; a database row only names them)."""
    return DocumentStore(Path(workspace_root) / DOCUMENTS_DIR)


class DocumentDamaged(StoreError):
    """A stored document's bytes no longer hash to the name they are stored under (disk damage or a hand
    edit): it is never served as the adopted text."""


class DocumentStore:
    """The bytes of the register's documents, content-addressed: ``<root>/<first 2 hex>/<sha256>``.

    A file is written aside and renamed into place *before* the transaction that records it commits: a
    rollback leaves at most an unreferenced file (harmless, and the next document with the same bytes reuses
    it), never a recorded document without its bytes. The same bytes under two names are stored once; the
    name, role and size live in the decision."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path_of(self, sha256: str) -> Path:
        if not SHA256.match(sha256):
            raise NotFound(f"'{sha256[:80]}' is not a sha256 (64 lowercase hex digits); the links of a decision's "
                           "page name its documents")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return SHA256.match(sha256) is not None and self.path_of(sha256).is_file()

    def put_file(self, source: Path) -> tuple[str, int]:
        """Copy ``source`` in; return (sha256, size). Hashes while copying, so the name is that of the bytes
        actually stored."""
        try:
            with open(source, "rb") as f:
                return self._put(f)
        except OSError as e:
            raise StoreError(f"{source}: cannot read the document ({e.strerror}); check the path and rights") from e

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        import io

        return self._put(io.BytesIO(data))

    def _put(self, src: BinaryIO) -> tuple[str, int]:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming.", suffix=".tmp")
        except OSError as e:
            raise StoreError(f"{self.root}: cannot write the register's documents ({e.strerror}); check that the "
                             "workspace is writable — nothing was recorded") from e
        h, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out:
                for block in iter(lambda: src.read(_BLOCK), b""):
                    h.update(block)
                    size += len(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            sha = h.hexdigest()
            final = self.path_of(sha)
            if final.is_file() and final.stat().st_size == size:
                os.unlink(tmp)  # the same bytes are already here
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp, 0o444)
                os.replace(tmp, final)
            return sha, size
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            raise StoreError(f"{self.root}: cannot write a document ({e.strerror}); nothing was recorded — free "
                             "space or fix the rights and try again") from e
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read_checked(self, sha256: str) -> Iterator[bytes]:
        """The bytes of a document, in blocks, once they are known to hash to ``sha256``: the file is hashed
        first, then streamed (content-addressed files are never rewritten in place, so what is streamed is
        what was checked). :class:`NotFound` for an unknown hash, :class:`DocumentDamaged` for a changed file."""
        path = self.path_of(sha256)
        if not path.is_file():
            raise NotFound(f"no document sha256:{sha256} in this node's register")
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(_BLOCK), b""):
                h.update(block)
        if h.hexdigest() != sha256:
            raise DocumentDamaged(f"{path}: the stored document no longer matches its sha256 (it hashes to "
                                  f"{h.hexdigest()}); restore it from a backup or add the file again")

        def blocks() -> Iterator[bytes]:
            with open(path, "rb") as f:
                yield from iter(lambda: f.read(_BLOCK), b"")
        return blocks()
