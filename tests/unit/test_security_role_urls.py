"""Issue #27, defect 3: with only ERP_DATABASE_URL set, the reader and the sink connected as the
ERP's owner. Their URLs now derive the role from it (no password: the owner's is never reused),
and a role URL that names the owner is refused."""

from __future__ import annotations

import pytest

from schemas.settings import InsecureSettings, Settings

OWNER = "postgresql://erp:s3cret@db.internal:5432/erp?sslmode=require"


def test_defect_3_role_urls_never_fall_back_to_the_owner() -> None:
    settings = Settings(ERP_DATABASE_URL=OWNER)
    assert settings.erp_sink_dsn() == "postgresql://topllantas_sink@db.internal:5432/erp?sslmode=require"
    assert settings.erp_reader_dsn() == \
        "postgresql://topllantas_reader@db.internal:5432/erp?sslmode=require"


def test_defect_3_a_configured_role_url_is_used_as_given() -> None:
    sink = "postgresql://topllantas_sink:p%40ss@db.internal:5432/erp"
    assert Settings(ERP_DATABASE_URL=OWNER, ERP_SINK_DATABASE_URL=sink).erp_sink_dsn() == sink


@pytest.mark.parametrize("variable", ["ERP_SINK_DATABASE_URL", "ERP_READER_DATABASE_URL"])
def test_defect_3_a_role_url_naming_the_owner_is_refused(variable: str) -> None:
    settings = Settings(ERP_DATABASE_URL=OWNER, **{variable: OWNER})
    with pytest.raises(InsecureSettings, match="connects as the ERP owner"):
        settings.erp_sink_dsn() if "SINK" in variable else settings.erp_reader_dsn()
