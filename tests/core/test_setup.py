import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import Company, User
from agencies.models import Agency, JurisdictionRule
from risk.models import SelectivityRule

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_covers_every_role():
    call_command("seed_demo")
    counts = [m.objects.count() for m in (Agency, JurisdictionRule, Company, User, SelectivityRule)]
    call_command("seed_demo")
    assert [
        m.objects.count() for m in (Agency, JurisdictionRule, Company, User, SelectivityRule)
    ] == counts
    assert Agency.objects.filter(is_customs=True).count() == 1
    assert Agency.objects.filter(is_customs=False).count() >= 4
    assert set(User.objects.values_list("role", flat=True)) == set(User.Role.values)
    assert User.objects.get(username="trader_a").check_password("demo12345")


def test_production_settings_pass_the_deploy_check():
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "false",
        "SECRET_KEY": "x7!kQ2#vN9$wL4^pR8&zT1*bY6(cM3)fH5_jD0+gSe4@uA9%iO2=qW8~nX",
        "ALLOWED_HOSTS": "singlewindow.example.org",
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
