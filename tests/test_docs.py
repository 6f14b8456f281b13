"""specter.md is built from docs/parts and must be current."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_specter_md_is_built_from_the_current_parts() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_docs.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_every_public_name_is_documented() -> None:
    import specter_spoc

    guide = (ROOT / "specter.md").read_text()
    missing = [name for name in specter_spoc.__all__ if name != "__version__" and f"`{name}" not in guide
               and f"{name}(" not in guide]
    assert missing == []


def test_readme_quickstart_has_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert commands == ["bash scripts/serve.sh     # install into .venv and serve the blog platform example; "
                        "prints its URL",
                        "bash scripts/test.sh      # install the test dependencies into .venv and run the whole "
                        "test suite"]
    assert (ROOT / "scripts" / "serve.sh").exists() and (ROOT / "scripts" / "test.sh").exists()
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
