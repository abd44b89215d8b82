"""Placeholder (issue 3, in progress)."""


def references(tree: dict, kind: str, name: str) -> list[str]:
    return []
