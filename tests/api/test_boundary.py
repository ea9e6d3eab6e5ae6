import ast
from pathlib import Path

API = Path(__file__).resolve().parents[2] / "api"
ALLOWED = {
    "etl_cli.config",
    "etl_cli.logs",
    "etl_cli.schema",
    "etl_cli.schema.divergence",
    "etl_cli.schema.errors",
    "etl_cli.schema.reads",
    "etl_cli.schema.tables",
    "etl_cli.schema.types",
}


def test_the_api_imports_only_configuration_and_the_schema_contract_from_etl_cli():
    imported = set()
    for module in API.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    from_etl = {name for name in imported if name.split(".")[0] == "etl_cli"}
    assert from_etl and from_etl <= ALLOWED
