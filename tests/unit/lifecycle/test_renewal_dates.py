"""When a public certificate is due for renewal (rotation.renewal_date)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lifecycle.rotation import renewal_date

ISSUED = datetime(2026, 12, 1, tzinfo=UTC)
AUTO = {"auto_rotate": True}


def test_a_certificate_is_due_renew_before_ahead_of_its_expiry() -> None:
    expires = ISSUED + timedelta(days=90)
    assert renewal_date(AUTO, expires, ISSUED) == expires - timedelta(days=31)
    assert renewal_date(AUTO | {"renew_before": "40d"}, expires, ISSUED) == expires - timedelta(days=40)
    assert renewal_date({"auto_rotate": False}, expires, ISSUED) is None


def test_a_certificate_is_never_due_before_a_third_of_its_life() -> None:
    """Due when issued, it was ordered again on every scheduler pass (11 versions in 20 s
    against a CA issuing 150-second certificates); a day after issue, renewed daily."""
    assert renewal_date(AUTO, ISSUED + timedelta(seconds=150), ISSUED) == ISSUED + timedelta(seconds=50)
    assert renewal_date(AUTO, ISSUED + timedelta(days=32), ISSUED) == ISSUED + timedelta(days=32) / 3
    assert renewal_date(AUTO | {"renew_before": "89d"}, ISSUED + timedelta(days=90), ISSUED) == ISSUED + timedelta(days=30)
    assert renewal_date(AUTO | {"renew_before": "60d"}, ISSUED + timedelta(days=90), ISSUED) == ISSUED + timedelta(days=30)
