"""Layering: data flows extract -> transform, so no extract module imports from transform."""

import ast
from pathlib import Path

import etl_cli.extract


def test_no_extract_module_imports_from_transform():
    package = Path(etl_cli.extract.__file__).parent
    for module in package.glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        assert not {name for name in imported if name.startswith("etl_cli.transform")}, module.name
