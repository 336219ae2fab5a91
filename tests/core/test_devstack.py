"""./dev start keeps the platform's processes running: its supervisor, on real processes."""

import os
import signal
import sys

import psutil

from scripts.devstack import Supervisor
from tests.conftest import wait_for

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
CRASHER = [sys.executable, "-c", "import sys; sys.exit(3)"]


def supervisor(tmp_path, commands, **options) -> Supervisor:
    return Supervisor(commands, env=dict(os.environ), logdir=tmp_path, **options)


def test_a_killed_process_is_started_again_and_the_others_keep_running(tmp_path, capsys):
    running = supervisor(tmp_path, {"worker": SLEEPER, "web": SLEEPER}, backoff=0.1)
    running.start_all()
    try:
        worker, web = running.processes["worker"], running.processes["web"]
        os.kill(worker.pid, signal.SIGKILL)

        def restarted():
            assert running.check(), "the supervisor gave up"
            return running.processes["worker"].pid != worker.pid

        wait_for(restarted, timeout=10)
        assert running.processes["worker"].poll() is None
        assert running.processes["web"] is web and web.poll() is None
        out = capsys.readouterr().out
        assert "worker exited (code -9); starting it again in 0.1 s" in out
        assert "Starting worker again" in out
    finally:
        running.stop_all()
    assert all(p.poll() is not None for p in running.processes.values())


def test_a_process_that_keeps_crashing_is_given_up_on_after_backing_off(tmp_path, capsys):
    running = supervisor(tmp_path, {"beat": CRASHER, "web": SLEEPER}, backoff=0.05, max_crashes=3)
    running.start_all()
    try:
        wait_for(lambda: not running.check(), timeout=10)
        assert running.gave_up == ["beat"]
        out = capsys.readouterr().out
        assert "starting it again in 0.05 s" in out
        assert "starting it again in 0.1 s" in out  # the pause doubles
        assert "beat exited (code 3) 3 times in a row; giving up" in out
    finally:
        running.stop_all()


def test_stopping_ends_every_process_with_its_children(tmp_path):
    parent = [
        sys.executable,
        "-c",
        "import subprocess, sys, time; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
        "time.sleep(120)",
    ]
    running = supervisor(tmp_path, {"worker": parent})
    running.start_all()
    process = psutil.Process(running.processes["worker"].pid)
    children = wait_for(lambda: process.children(recursive=True), timeout=10)
    running.stop_all()
    assert running.processes["worker"].poll() is not None
    wait_for(lambda: not any(child.is_running() for child in children), timeout=10)
