"""Every read of restricted data is in the audit log, or it is not served: with the log unwritable, an
allowed official's read of a restricted layer is a 503 saying why, while public data is served and a refused
read stays refused; once the log is back the read is served and the chain still verifies."""

from __future__ import annotations

import pytest

from tests.geoportal.access_client import Node, bearer, geoportal, request

pytestmark = pytest.mark.slow

RESTRICTED = "/ogcapi/collections/nature-protection-register/items?f=json&limit=5"
PUBLIC = "/ogcapi/collections/oblast-boundary/items?f=json"


def test_a_read_that_cannot_be_audited_is_not_served(access_node: Node) -> None:
    node = access_node
    token = geoportal("token", "issue", "oleh", "--config", str(node.other_config), "--workdir",
                      str(node.other_workdir)).stdout.strip()
    assert request(node, "GET", RESTRICTED, bearer(token), source="127.0.0.91").status == 200
    log = node.served.workdir / "audit.log"
    kept = log.with_name("audit.log.kept-by-test")
    log.rename(kept)
    log.mkdir()  # where the log was, nothing can be appended: a full disk or a broken mount look the same
    try:
        refused = request(node, "GET", RESTRICTED, bearer(token), source="127.0.0.91")
        assert refused.status == 503, refused.text[:300]
        assert "audit log" in refused.text and refused.header("Retry-After")
        assert '"features"' not in refused.text
        assert request(node, "GET", PUBLIC, source="127.0.0.91").status == 200  # nothing to audit
        assert request(node, "GET", RESTRICTED, source="127.0.0.91").status == 404  # refused anyway
    finally:
        log.rmdir()
        kept.rename(log)
    assert request(node, "GET", RESTRICTED, bearer(token), source="127.0.0.91").status == 200
    verified = node.cli("audit", "--verify", check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
