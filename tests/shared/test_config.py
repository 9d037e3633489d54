"""Settings from the environment: yes/no values are read strictly."""

import pytest

from shared.config import Settings


@pytest.mark.parametrize("value, expected", [("true", True), ("YES", True), (" on ", True), ("1", True),
                                             ("false", False), ("No", False), ("off", False), ("0", False)])  # fmt: skip
def test_yes_no_values(value, expected):
    settings = Settings.from_env({"TERRAFAKE_INGEST_ALLOW_PRIVATE_NETWORKS": value})
    assert settings.ingest_allow_private_networks is expected


def test_a_typo_is_an_error_naming_the_variable_not_a_silent_false():
    with pytest.raises(ValueError, match="TERRAFAKE_INGEST_ALLOW_PRIVATE_NETWORKS must be one of .* got 'ture'"):
        Settings.from_env({"TERRAFAKE_INGEST_ALLOW_PRIVATE_NETWORKS": "ture"})
