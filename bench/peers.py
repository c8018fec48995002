"""The peer programs and load generator, installed when missing: Debian's packages through
apt-get (as root), and certbot from PyPI in a virtual environment of its own (.bench/certbot-venv),
so its dependencies never mix with certkeeper's. Nothing is downloaded from anywhere else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGES = {"wrk": "wrk", "cfssl": "golang-cfssl", "lego": "lego", "curl": "curl"}  # command -> Debian package
APT_TIMEOUT_S = 600
PIP_TIMEOUT_S = 600
CERTBOT_VENV = Path(__file__).resolve().parents[1] / ".bench" / "certbot-venv"


def ensure(commands: list[str]) -> None:
    """Make sure every command is on PATH; raises RuntimeError saying how to get it otherwise."""
    missing = [c for c in commands if shutil.which(c) is None]
    if not missing:
        return
    packages = sorted({PACKAGES[c] for c in missing})
    if os.geteuid() != 0:
        raise RuntimeError(f"bench: {', '.join(missing)} missing; run 'sudo apt-get install -y {' '.join(packages)}'")
    print(f"bench: installing Debian packages {', '.join(packages)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        done = subprocess.run(argv, check=False, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(f"bench: {' '.join(argv)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    still = [c for c in missing if shutil.which(c) is None]
    if still:
        raise RuntimeError(f"bench: {', '.join(still)} still missing after installing {', '.join(packages)}")


def certbot() -> Path:
    """The certbot command of its own venv, created (pip install certbot) on first use."""
    command = CERTBOT_VENV / "bin" / "certbot"
    if command.exists():
        return command
    print(f"bench: installing certbot from PyPI into {CERTBOT_VENV}", flush=True)
    for argv in ([sys.executable, "-m", "venv", "--clear", str(CERTBOT_VENV)],
                 [str(CERTBOT_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "certbot"]):
        done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(f"bench: {' '.join(argv)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return command
