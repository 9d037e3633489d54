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


def test_an_empty_environment_gives_the_fields_own_defaults(tmp_path):
    from dataclasses import fields

    from shared.config import ENVIRONMENT

    assert Settings.from_env({"TERRAFAKE_HOME": str(tmp_path)}) == Settings(home=tmp_path)
    names = {f.name for f in fields(Settings)}
    assert all(name in names for name, _, _ in ENVIRONMENT)  # the table names real fields only
    assert len({variable for _, variable, _ in ENVIRONMENT}) == len(ENVIRONMENT)


def test_every_variable_in_the_table_is_read(tmp_path):
    env = {"TERRAFAKE_HOME": str(tmp_path), "DATABASE_URL": "postgresql://db/x", "TERRAFAKE_JOB_LEASE_SECONDS": "7.5",
           "TERRAFAKE_WORKER_CONCURRENCY": "3", "TERRAFAKE_INGEST_ALLOWED_ROOTS": f"{tmp_path}/a:{tmp_path}/b",
           "TERRAFAKE_GRPC_ADDRESS": "0.0.0.0:6000", "TERRAFAKE_WEB_ADDRESS": "0.0.0.0:9000",
           "TERRAFAKE_LIMIT_MAX_PAGE_SIZE": "900", "TERRAFAKE_INFERENCE_BACKEND": "local"}  # fmt: skip
    s = Settings.from_env(env)
    assert (s.database_url, s.job_lease_seconds, s.worker_concurrency) == ("postgresql://db/x", 7.5, 3)
    assert s.ingest_allowed_roots == ((tmp_path / "a").resolve(), (tmp_path / "b").resolve())
    assert (s.grpc_address, s.grpc_address_explicit, s.web_host, s.web_port) == ("0.0.0.0:6000", True, "0.0.0.0", 9000)
    assert s.limits.max_page_size == 900 and s.inference_backend == "local"


@pytest.mark.parametrize("variable, value, message", [
    ("TERRAFAKE_JOB_MAX_ATTEMPTS", "three", "TERRAFAKE_JOB_MAX_ATTEMPTS must be a whole number, got 'three'"),
    ("TERRAFAKE_JOB_LEASE_SECONDS", "soon", "TERRAFAKE_JOB_LEASE_SECONDS must be a number, got 'soon'"),
    ("TERRAFAKE_LIMIT_MAX_PAGE_SIZE", "1e3", "TERRAFAKE_LIMIT_MAX_PAGE_SIZE must be a whole number, got '1e3'"),
    ("TERRAFAKE_WEB_ADDRESS", "8080", "TERRAFAKE_WEB_ADDRESS must be host:port, got '8080'"),
    ("TERRAFAKE_INFERENCE_BACKEND", "gpu", "TERRAFAKE_INFERENCE_BACKEND must be 'triton' or 'local'"),
])  # fmt: skip
def test_a_value_that_does_not_parse_names_its_variable(variable, value, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env({variable: value})
