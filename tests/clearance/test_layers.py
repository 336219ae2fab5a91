"""The clearance process has one home: the domain apps import only downward.

declarations, agencies and risk keep their own rows and rules; a step that
crosses them lives in clearance. None of their modules imports another domain
app's services, tasks or jobs, nor the clearance process (which imports them).
Pages and APIs of a domain app may start a clearance step, as any entry point.
"""

import ast
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = ("declarations", "agencies", "risk", "payments", "exports", "relief", "devices")
WRITERS = ("services", "tasks", "jobs")
# Entry points: they call the process, the process never calls them. So do management
# commands (a listener feeding device messages in, for instance).
ENTRY_POINTS = {"views.py", "apis.py", "admin.py", "urls.py", "api_urls.py"}


def is_entry_point(path: Path) -> bool:
    return path.name in ENTRY_POINTS or "commands" in path.parts


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules |= {f"{node.module}.{alias.name}" for alias in node.names}
    return modules


def domain_modules(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


@pytest.mark.parametrize("app", DOMAINS)
def test_a_domain_app_never_imports_another_domains_services_or_tasks(app):
    forbidden = {f"{other}.{layer}" for other in DOMAINS if other != app for layer in WRITERS}
    offences = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in domain_modules(app)
        for module in imported_modules(path)
        if any(module == f or module.startswith(f + ".") for f in forbidden)
    ]
    assert offences == []


@pytest.mark.parametrize("app", DOMAINS)
def test_only_entry_points_of_a_domain_app_start_a_clearance_step(app):
    offences = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in domain_modules(app)
        if not is_entry_point(path)
        for module in imported_modules(path)
        if module == "clearance" or module.startswith("clearance.")
    ]
    assert offences == []


def test_the_check_would_see_a_forbidden_import(tmp_path):
    module = tmp_path / "services.py"
    module.write_text("def f():\n    from agencies.services import reviews_open_many\n")
    assert "agencies.services" in imported_modules(module)


def test_the_clearance_process_has_no_models_of_its_own():
    assert list(apps.get_app_config("clearance").get_models()) == []
