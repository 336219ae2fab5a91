import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_production_settings_pass_the_deploy_check():
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "false",
        "SECRET_KEY": "x7!kQ2#vN9$wL4^pR8&zT1*bY6(cM3)fH5_jD0+gSe4@uA9%iO2=qW8~nX",
        "ALLOWED_HOSTS": "singlewindow.example.org",
        "AUDIT_HMAC_KEYS": "k1:9Zt4-vQm2RkX8yLw3sPa6NdH1cJf5GbE",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_mode_refuses_to_start_without_a_secret_key():
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": ""}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_mode_refuses_to_start_without_an_audit_key():
    env = {**os.environ, "DEBUG": "false", "SECRET_KEY": "x" * 50, "AUDIT_HMAC_KEYS": ""}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "AUDIT_HMAC_KEYS must be set" in result.stderr
