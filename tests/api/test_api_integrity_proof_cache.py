"""A proof is checked against the signed root before it is served: over a corrupt node of
the Merkle log's node table it is a 503 naming the node, and /readyz says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.principals import AS_OPERATOR


def test_a_proof_over_an_edited_node_is_never_served(api: Any):
    for i in range(14):
        api.ledger.register_agency(AS_OPERATOR, name=f"Agency {i}", kind="other",
                                   statutory_partner=False, partnerships=["SSSCB"])
    made = api.post("scb_manager", "/integrity/checkpoints", {"reason": "before"})
    assert made.status_code == 201, made.text
    size = made.json()["size"]
    served = api.get("auditor", "/integrity/proofs/inclusion", position=5)
    assert served.status_code == 200, served.text
    merkle = api.client.app.state.services.merkle
    position = merkle.leaf(6)[0]
    with merkle.db.transaction() as tx:  # the node over leaves 6-7, on leaf 4's path
        tx.execute("UPDATE {view_merkle_nodes} SET hash = ? WHERE level = 1 AND "
                   "node_index = 3", ("cd" * 32,))

    for path, params in (("/integrity/proofs/inclusion", {"position": merkle.leaf(4)[0]}),
                         ("/integrity/proofs/consistency", {"from": 6, "to": size})):
        refused = api.get("auditor", path, **params)
        assert refused.status_code == 503, refused.text
        assert "node (level 1, index 3; leaves 6-7)" in refused.text, refused.text
    assert api.get("auditor", f"/integrity/events/{position - 2}/tlog-proof").status_code == 503
    ready = api.client.get("/readyz")
    assert ready.status_code == 503
    assert "node (level 1, index 3" in ready.json()["merkle_log"]
    # a proof that does not pass over the node is still served
    assert api.get("auditor", "/integrity/proofs/inclusion",
                   position=merkle.leaf(size - 1)[0]).status_code == 200


def test_a_checkpoint_made_over_http_is_in_the_merkle_log_at_once(api: Any):
    made = api.post("scb_manager", "/integrity/checkpoints", {"reason": "covered"})
    assert made.status_code == 201, made.text
    merkle = api.client.app.state.services.merkle
    head = api.ledger.head_position()  # the checkpoint's own event (after the log's opening)
    assert merkle.leaf_index_of(head) in (made.json()["size"], made.json()["size"] + 1)


def test_an_unreadable_signer_state_is_a_503_not_a_500(api: Any, tmp_path: Path):
    assert api.post("scb_manager", "/integrity/checkpoints", {"reason": "a"}).status_code == 201
    (tmp_path / "log.key.state").write_text("not json")
    refused = api.post("scb_manager", "/integrity/checkpoints", {"reason": "b"})
    assert refused.status_code == 503, refused.text
    assert "log.key.state" in refused.text
