"""What the Marketplace (HACS, built into Home Assistant 2026.11) gets from us.

The zip of a release, hacs.json and the manifest's new keys are checked against
the newest Home Assistant's own code and lists (in .venv-newest), so that a key
it would skip or a category it does not know fails here, not in an owner's
Marketplace.
"""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys
import zipfile

import yaml

REPO = Path(__file__).resolve().parents[1]
INTEGRATION = REPO / "custom_components" / "qrad"
NEWEST_PYTHON = REPO / ".venv-newest" / "bin" / "python"
# Every rule of the Integration Quality Scale (hassfest's ALL_RULES, 2026.11).
RULES = {
    "action-setup", "appropriate-polling", "brands", "common-modules",
    "config-flow", "config-flow-test-coverage", "dependency-transparency",
    "docs-actions", "docs-conditions", "docs-high-level-description",
    "docs-installation-instructions", "docs-removal-instructions", "docs-triggers",
    "entity-event-setup", "entity-unique-id", "has-entity-name", "runtime-data",
    "test-before-configure", "test-before-setup", "unique-config-entry",
    "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
    "docs-installation-parameters", "entity-unavailable", "integration-owner",
    "log-when-unavailable", "parallel-updates", "reauthentication-flow",
    "test-coverage", "devices", "diagnostics", "discovery", "discovery-update-info",
    "docs-data-update", "docs-examples", "docs-known-limitations",
    "docs-supported-devices", "docs-supported-functions", "docs-troubleshooting",
    "docs-use-cases", "dynamic-devices", "entity-category", "entity-device-class",
    "entity-disabled-by-default", "entity-translations", "exception-translations",
    "icon-translations", "reconfiguration-flow", "repair-issues", "stale-devices",
    "async-dependency", "inject-websession", "strict-typing",
}  # fmt: skip


def release(*args: str) -> subprocess.CompletedProcess[str]:
    """scripts/release.py, as a maintainer runs it."""
    return subprocess.run(  # noqa: S603
        [sys.executable, REPO / "scripts" / "release.py", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def newest(code: str) -> str:
    """Run `code` with the newest Home Assistant's interpreter; what it printed."""
    return subprocess.run(  # noqa: S603
        [NEWEST_PYTHON, "-c", code], capture_output=True, text=True, check=True
    ).stdout


def test_the_release_zip_holds_the_integration_at_its_root(tmp_path: Path) -> None:
    """Extracted as is into custom_components/qrad/, it is the integration."""
    built = release("--output", str(tmp_path))
    assert built.returncode == 0, built.stderr
    with zipfile.ZipFile(built.stdout.strip()) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
    tracked = subprocess.run(
        ["git", "ls-files", "custom_components/qrad"],  # noqa: S607
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert names == {
        Path(path).relative_to("custom_components/qrad").as_posix()
        for path in tracked
        if Path(path).name != "ruff.toml"
    }
    assert manifest["domain"] == "qrad"
    assert {"brand/icon.png", "brand/logo.png", "translations/fr.json"} <= names


def test_a_release_tag_must_be_the_manifest_version(tmp_path: Path) -> None:
    """A tag that says another version than manifest.json is refused."""
    version = json.loads((INTEGRATION / "manifest.json").read_text())["version"]
    refused = release("--output", str(tmp_path), "--tag", "v0.0.0-not-it")
    assert refused.returncode == 1
    assert f"v{version}" in refused.stderr
    assert release("--output", str(tmp_path), "--tag", f"v{version}").returncode == 0


def test_the_marketplace_reads_every_key_of_hacs_json() -> None:
    """No key it skips (render_readme was), each of a type it accepts."""
    skipped = newest(
        "import json, sys\n"
        "from homeassistant.components.marketplace.utils.validate import "
        "REPOSITORY_MANIFEST_VALUES as read\n"
        f"hacs = json.load(open({str(REPO / 'hacs.json')!r}))\n"
        "for key, value in hacs.items():\n"
        "    if key not in read:\n"
        "        print(key)\n"
        "    else:\n"
        "        read[key](value)\n"
    )
    assert skipped == ""
    hacs = json.loads((REPO / "hacs.json").read_text())
    assert hacs["zip_release"] is True
    assert hacs["filename"] == "qrad.zip"


def test_the_manifest_categories_are_home_assistants() -> None:
    """Each category is one of the newest Home Assistant's, the primary first."""
    known = set(
        newest(
            "import json, pathlib, homeassistant\n"
            "path = pathlib.Path(homeassistant.__file__).parent / 'generated'\n"
            "for group in json.loads((path / 'integration_categories.json')"
            ".read_text()):\n"
            "    print(group['slug'])\n"
            "    for sub in group['subcategories']:\n"
            "        print(f\"{group['slug']}.{sub['slug']}\")\n"
        ).split()
    )
    manifest = json.loads((INTEGRATION / "manifest.json").read_text())
    assert manifest["categories"][0] == "climate.thermostats_heating"
    assert set(manifest["categories"]) <= known
    assert manifest["connectivity"] == ["network", "cloud"]


def test_the_quality_scale_lists_every_rule() -> None:
    """Each rule of the scale, done or exempt; an exemption says why."""
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]
    assert set(rules) == RULES
    for name, rule in rules.items():
        status = rule if isinstance(rule, str) else rule["status"]
        assert status in {"done", "exempt"}, name
        if status == "exempt":
            assert rule["comment"], name
