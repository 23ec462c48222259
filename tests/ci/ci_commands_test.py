"""`.ci/run` runs exactly the README's test command, the whole matrix."""

import pathlib
import re
import subprocess

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent.parent


def _readme_test_command():
    readme = (REPO_ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", readme, re.DOTALL)
    commands = [b for b in blocks if "pytest" in b]
    assert len(commands) == 1, commands
    return commands[0]


def test_ci_runs_the_readme_test_command():
    command = _readme_test_command()
    assert "\n" not in command
    lines = (REPO_ROOT / ".ci" / "run").read_text().splitlines()
    code = [line for line in lines if line and not line.startswith("#")]
    assert code == [
        "set -euo pipefail",
        'cd "$(dirname "$0")/.."',
        command,
    ]


def test_the_matrix_covers_every_backend():
    command = _readme_test_command()
    assert "python -m pytest -q" in command
    assert ".ci/backends.sh" in command
    script = (REPO_ROOT / ".ci" / "backends.sh").read_text()
    assert "set -- jax torch" in script
    assert '-m "not tensorflow_only"' in script


def test_backends_script_rejects_an_unknown_backend():
    result = subprocess.run(
        [str(REPO_ROOT / ".ci" / "backends.sh"), "tensorflow"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Invalid backend 'tensorflow'" in result.stderr
