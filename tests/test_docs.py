"""The docs: specter.md is built from docs/parts and current, and the mkdocs site built from the
same parts passes --strict with an API entry for every public name."""
from __future__ import annotations

import os
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


# -- one source, two outputs: specter.md and the mkdocs site --------------------------------------

import importlib.util  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402


def _build_docs_module():
    spec = importlib.util.spec_from_file_location("build_docs", ROOT / "scripts" / "build_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mkdocs(config: Path, site: Path) -> subprocess.CompletedProcess:
    # no -q: mkdocs counts warnings for --strict only when they are logged
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config),
                           "-d", str(site)], capture_output=True, text=True, timeout=120,
                          cwd=config.parent, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site, built once with ``mkdocs build --strict`` into a tmp dir."""
    out = tmp_path_factory.mktemp("site")
    started = time.monotonic()
    result = _mkdocs(ROOT / "mkdocs.yml", out)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert elapsed < 60, f"the docs build took {elapsed:.1f} s; keep it fast"
    return out


def test_site_has_a_page_per_part_and_the_api_reference(site: Path) -> None:
    parts = sorted(p.stem for p in (ROOT / "docs" / "parts").glob("*.md"))
    first = _build_docs_module().part_names()[0]
    assert (site / "index.html").exists()  # the first part is the home page
    for name in parts:
        if name != first:
            assert (site / name / "index.html").exists(), name
    for page in ("api/index.html", "api/project/index.html", "api/redis/index.html", "api/typing/index.html"):
        assert (site / page).exists(), page
    assert (site / "search" / "search_index.json").exists()


def test_api_reference_documents_every_public_name(site: Path) -> None:
    """Each package's ``__all__`` (specter_spoc, project, contrib.redis, typing)
    has an entry per name, and specter_spoc's is the first page."""
    import importlib

    pages = _build_docs_module().API_PACKAGES
    assert pages[0][:2] == ("specter_spoc", "api/index.md")
    for package, page, _, _ in pages:
        html = (site / page.replace(".md", "/index.html").replace("/index/", "/")).read_text()
        anchors = set(re.findall(r'id="([^"]+)"', html))
        names = importlib.import_module(package).__all__
        missing = [name for name in names if f"{package}.{name}" not in anchors]
        assert missing == [], f"{package}: public names without an entry in the API reference: {missing}"


def test_diagrams_reach_both_outputs(site: Path) -> None:
    diagrams = sorted((ROOT / "docs" / "diagrams").glob("*.md"))
    assert len(diagrams) >= 4
    guide = (ROOT / "specter.md").read_text()
    pages = "".join(p.read_text() for p in site.rglob("index.html"))
    for diagram in diagrams:
        assert f"<!-- include: diagrams/{diagram.name} -->" not in guide
        first_line = diagram.read_text().split("```mermaid\n", 1)[1].splitlines()[0]
        assert first_line in guide, diagram.name
    assert pages.count('class="mermaid"') >= len(diagrams)


def test_repository_files_are_linked_in_both_and_a_broken_link_fails_the_site(tmp_path: Path, monkeypatch) -> None:
    """An image under docs/ linked from a part (written from the repository root,
    as specter.md sees it) shows in the guide and is copied into the site; then
    a link to a missing heading makes ``mkdocs build --strict`` fail."""
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    (tmp_path / "docs" / "img").mkdir(exist_ok=True)
    (tmp_path / "docs" / "img" / "probe.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    part = tmp_path / "docs" / "parts" / "redis.md"
    part.write_text(part.read_text() + "\n![a probe](docs/img/probe.png)\n")
    config = (ROOT / "mkdocs.yml").read_text().replace("- scripts/build_docs.py",
                                                        f"- {ROOT / 'scripts' / 'build_docs.py'}")
    (tmp_path / "mkdocs.yml").write_text(config)

    module = _build_docs_module()
    monkeypatch.setattr(module, "DOCS", tmp_path / "docs")
    monkeypatch.setattr(module, "PARTS", tmp_path / "docs" / "parts")
    assert "![a probe](docs/img/probe.png)" in module.build()

    result = _mkdocs(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "repo" / "docs" / "img" / "probe.png").exists()
    assert 'src="../repo/docs/img/probe.png"' in (tmp_path / "site" / "redis" / "index.html").read_text()

    part.write_text(part.read_text() + "\nSee [the limits](workers.md#no-such-section).\n")
    result = _mkdocs(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0
    assert "no-such-section" in result.stdout + result.stderr


def test_a_link_to_a_markdown_file_outside_the_parts_is_refused(tmp_path: Path, monkeypatch) -> None:
    module = _build_docs_module()
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    (tmp_path / "README.md").write_text("# readme\n")
    part = tmp_path / "docs" / "parts" / "workers.md"
    part.write_text(part.read_text() + "\nSee [the readme](README.md).\n")
    monkeypatch.setattr(module, "DOCS", tmp_path / "docs")
    monkeypatch.setattr(module, "PARTS", tmp_path / "docs" / "parts")
    with pytest.raises(module.DocsError, match=r"workers\.md: link 'README\.md' is neither"):
        module.build()


def test_contents_list_links_every_section() -> None:
    guide = (ROOT / "specter.md").read_text()
    contents = guide.split("Contents:", 1)[1].split("\n## ", 1)[0]
    module = _build_docs_module()
    sections = [title for level, title in module.headings(guide) if level == 2]
    assert len(sections) >= 20
    for title in sections:
        assert f"(#{module.slugify(title)})" in contents, title


def test_every_anchor_link_in_the_guide_names_a_heading() -> None:
    guide = (ROOT / "specter.md").read_text()
    module = _build_docs_module()
    seen: dict = {}
    anchors = {module._unique(module.slugify(t), seen, "-") for _, t in module.headings(guide)}
    links = re.findall(r"\]\(#([^)]+)\)", guide)
    assert links and [a for a in links if a not in anchors] == []


def test_a_link_to_a_missing_heading_fails_the_guide_build(tmp_path: Path, monkeypatch) -> None:
    module = _build_docs_module()
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    part = tmp_path / "docs" / "parts" / "workers.md"
    part.write_text(part.read_text() + "\nSee [Redis](redis.md#nowhere).\n")
    monkeypatch.setattr(module, "DOCS", tmp_path / "docs")
    monkeypatch.setattr(module, "PARTS", tmp_path / "docs" / "parts")
    with pytest.raises(module.DocsError, match=r"workers\.md: link 'redis\.md#nowhere' names no heading"):
        module.build()


def test_links_between_parts_become_anchors_of_the_guide(tmp_path: Path, monkeypatch) -> None:
    """``redis.md#configuration`` points at the Redis part's section, which is the
    second "Configuration" heading of the guide (GitHub suffixes it ``-1``)."""
    module = _build_docs_module()
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    part = tmp_path / "docs" / "parts" / "workers.md"
    part.write_text(part.read_text() + "\nSee [Redis settings](redis.md#configuration) and [Redis](redis.md).\n")
    monkeypatch.setattr(module, "DOCS", tmp_path / "docs")
    monkeypatch.setattr(module, "PARTS", tmp_path / "docs" / "parts")
    guide = module.build()
    assert "[Redis settings](#configuration-1)" in guide
    assert "[Redis](#scaling-out-on-redis)" in guide


def test_no_internal_jargon_in_the_docs() -> None:
    texts = [(ROOT / "specter.md").read_text(), (ROOT / "README.md").read_text()]
    texts += [p.read_text() for p in (ROOT / "docs").rglob("*.md")]
    for text in texts:
        assert not re.search(r"seed \d{3}|DESIGN\.md|design sketch", text, re.I)


def test_a_guide_anchor_of_another_part_works_in_both_outputs(tmp_path: Path, monkeypatch) -> None:
    """``[limits](#limits)`` written in workers.md as in the one-file guide: the
    guide keeps it, the site points it at the Redis page."""
    from types import SimpleNamespace

    module = _build_docs_module()
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    part = tmp_path / "docs" / "parts" / "workers.md"
    part.write_text(part.read_text() + "\nSee [the Redis limits](#limits).\n")
    monkeypatch.setattr(module, "DOCS", tmp_path / "docs")
    monkeypatch.setattr(module, "PARTS", tmp_path / "docs" / "parts")
    assert "[the Redis limits](#limits)" in module.build()

    config = {"docs_dir": str(tmp_path / "docs" / "parts")}
    module.on_config(config)
    assert config["nav"][0] == "00_core.md" and "workers.md" in config["nav"]
    page = SimpleNamespace(file=SimpleNamespace(src_uri="workers.md"))
    site_text = module.on_page_markdown(part.read_text(), page, config, None)
    assert "[the Redis limits](redis.md#limits)" in site_text


def _undocumented(package: str) -> list:
    """Names in ``package.__all__`` whose API entry would show no docstring
    (read as mkdocstrings reads them: a module attribute's docstring is the
    string literal after the assignment, not a ``#:`` comment)."""
    import importlib

    import griffe

    root, _, rest = package.partition(".")
    loaded = griffe.load(root, search_paths=[str(ROOT)], resolve_aliases=True)
    module = loaded[rest] if rest else loaded
    missing = []
    for name in importlib.import_module(package).__all__:
        docstring = module[name].docstring
        if docstring is None or not docstring.value.strip():
            missing.append(name)
    return missing


def test_the_typing_module_documents_every_name() -> None:
    assert _undocumented("specter_spoc.typing") == []


@pytest.mark.parametrize("package", ["specter_spoc", "specter_spoc.project", "specter_spoc.contrib.redis"])
def test_every_public_name_has_a_docstring(package: str) -> None:
    assert _undocumented(package) == []


MERMAID_DIR = Path(os.environ.get("SPOC_MERMAID_DIR", Path.home() / ".cache" / "specter_spoc" / "mermaid-11"))


@pytest.mark.e2e
def test_every_diagram_parses_in_mermaid() -> None:
    """Each diagram is parsed by mermaid itself (npm's mermaid 11, installed once
    into ~/.cache) in headless Chromium: a syntax error would show as an error
    box on GitHub and on the site."""
    chromium = "/usr/bin/chromium"
    if not os.access(chromium, os.X_OK):
        pytest.fail(f"{chromium} is missing: install Debian's chromium package (apt-get install -y chromium).")
    script = MERMAID_DIR / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is missing: install Node.js and npm (apt-get install -y npm) to check the diagrams.")
        MERMAID_DIR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(MERMAID_DIR),
                               "mermaid@11"], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and script.exists(), done.stdout + done.stderr
    texts = {p.name: p.read_text().split("```mermaid\n", 1)[1].split("```", 1)[0]
             for p in sorted((ROOT / "docs" / "diagrams").glob("*.md"))}
    texts["broken (the check can fail)"] = "sequenceDiagram\n    A->>B: one; two\n    Note over A: x"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, timeout=30_000,
                                             args=["--headless", "--no-sandbox", "--disable-gpu",
                                                   "--disable-background-networking"])
        try:
            page = browser.new_page()
            page.set_content("<html><body></body></html>")
            page.add_script_tag(path=str(script))
            errors = page.evaluate("""async (texts) => {
                mermaid.initialize({startOnLoad: false});
                const out = {};
                for (const [name, text] of Object.entries(texts)) {
                    try { await mermaid.parse(text); out[name] = null; }
                    catch (e) { out[name] = String(e && e.message || e).split("\\n")[0]; }
                }
                return out;
            }""", texts)
        finally:
            browser.close()
    assert errors.pop("broken (the check can fail)") is not None
    assert errors == {name: None for name in errors}
