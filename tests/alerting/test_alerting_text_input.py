"""Characters XML 1.0 forbids, given on the command line or in an imported CAP message."""

from __future__ import annotations

import pytest


@pytest.fixture
def cli(world, cli):
    """``tocsin ARGS`` in this process on the alerting world (tests/conftest.py)."""
    return cli


def test_an_option_with_a_control_character_is_refused_naming_it(cli, world) -> None:
    from sqlalchemy import func, select

    from tocsin.alerting.models import Alert

    code, _, err = cli(
        "alerts", "raise", "--jurisdiction", "C1", "--level", "II",
        "--headline", "Flood\x01 warning", "--by", "duty",
    )  # fmt: skip
    assert code == 2, err
    assert "--headline" in err and "U+0001" in err and "Traceback" not in err
    code, _, err = cli(
        "alerts", "raise", "--jurisdiction", "C1", "--level", "II",
        "--headline=Flood", "--description=River\x0bhigh", "--by", "duty",
    )  # fmt: skip
    assert code == 2 and "--description" in err and "U+000B" in err
    with world.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Alert)) == 0


def test_the_service_refuses_what_an_edge_let_through(world) -> None:
    import datetime as dt

    from tocsin.alerting import lifecycle
    from tocsin.store import write_session
    from tocsin.text import TextError

    with pytest.raises(TextError) as info, write_session(world.engine) as session:
        lifecycle.raise_alert(
            session, jurisdiction="C1", level="II", headline="ok", headline_zh="坏\ufffe",
            by="duty", now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
    assert info.value.field == "headline_zh"
    assert "U+FFFE" in str(info.value)
