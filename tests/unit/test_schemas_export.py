"""The exported JSON Schemas are the documented contract: they must match the models."""

from __future__ import annotations

from schemas.json_schemas import JSON_DIR, render_all


def test_exported_json_schemas_are_fresh() -> None:
    rendered = render_all()
    stale = [n for n, text in rendered.items()
             if not (JSON_DIR / n).exists() or (JSON_DIR / n).read_text() != text]
    extra = [p.name for p in JSON_DIR.glob("*.json") if p.name not in rendered]
    assert not stale and not extra, (
        f"stale: {stale}, extra: {extra}; run `topllantas schemas export`")


def test_every_topic_value_names_a_contract() -> None:
    rendered = render_all()
    assert "schemas.cdc.ChangeEvent.json" in rendered
    assert "schemas.commands.OutboundMessage.json" in rendered
    assert "erp.stock.json" in rendered


def test_every_topic_of_the_catalogue_is_exported() -> None:
    from schemas.topics import load_catalogue

    rendered = render_all()
    missing = sorted(spec.value for spec in load_catalogue().topics.values()
                     if f"{spec.value}.json" not in rendered)
    assert missing == [], f"topics whose contract is not exported: {missing}"
