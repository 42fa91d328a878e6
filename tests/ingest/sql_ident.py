"""An SQL identifier quoted for the tests' own queries (written here, not taken from the code under test)."""


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
