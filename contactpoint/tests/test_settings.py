"""Production settings refuse to start without their secrets; local settings need none."""

import os
import subprocess
import sys

import pytest

IMPORT = "import django; from django.conf import settings; django.setup(); print(settings.SECRET_KEY[:4])"


def run_settings(module: str, env: dict[str, str], code: str = IMPORT) -> subprocess.CompletedProcess:
    ours = ("DJANGO_SECRET_KEY", "DATABASE_URL", "CONTACTPOINT_AUDIT_KEY", "CONTACTPOINT_AUDIT_KEY_FILE")
    clean = {k: v for k, v in os.environ.items() if k not in ours}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": module, **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"DATABASE_URL": "postgres://u@h/db", "CONTACTPOINT_AUDIT_KEY": "ab" * 32}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "x" * 50, "CONTACTPOINT_AUDIT_KEY": "ab" * 32}, "DATABASE_URL"),
        ({"DJANGO_SECRET_KEY": "x" * 50, "DATABASE_URL": "postgres://u@h/db"}, "CONTACTPOINT_AUDIT_KEY"),
    ],
)
def test_production_requires_its_secrets(env, missing):
    result = run_settings("contactpoint.settings.production", env)
    assert result.returncode != 0
    assert f"The environment variable {missing} must be set" in result.stderr


def test_production_starts_with_its_secrets():
    result = run_settings(
        "contactpoint.settings.production",
        {
            "DJANGO_SECRET_KEY": "k" * 50,
            "DATABASE_URL": "postgres://u@127.0.0.1/db",
            "CONTACTPOINT_AUDIT_KEY": "ab" * 32,
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "kkkk"


def test_local_settings_make_their_own_key(tmp_path):
    result = run_settings("contactpoint.settings.local", {"CONTACTPOINT_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").read_text().startswith(result.stdout.strip())


def test_a_malformed_boolean_is_an_error_not_a_guess(tmp_path):
    result = run_settings(
        "contactpoint.settings.local", {"CONTACTPOINT_DATA_DIR": str(tmp_path), "DJANGO_DEBUG": "perhaps"}
    )
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be true or false" in result.stderr


def test_sample_env_documents_every_variable_the_settings_read():
    import re
    from pathlib import Path

    settings_dir = Path(__file__).resolve().parent.parent / "settings"
    read = set()
    for path in settings_dir.glob("*.py"):
        read |= set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z_]+)"', path.read_text()))
    documented = set(
        re.findall(r"^([A-Z_]+)=", (settings_dir.parent.parent / "sample.env").read_text(), re.M)
    )
    assert read, "the settings read no variables? the pattern is wrong"
    assert read - documented == set()
