"""Reading source files: every unreadable file gets an error that names the problem."""

import pytest

from titanic_assets import settings
from titanic_assets.core.sources import SourceError, read_source_csv, resolve_source


def test_packaged_list_is_the_default(monkeypatch):
    monkeypatch.delenv("TITANIC_SOURCE_CSV", raising=False)
    source = resolve_source()
    assert source.path.name == "titanic.csv"
    assert len(read_source_csv(source.path)) == 1309


def test_setting_then_config_override(tmp_path):
    from_env = settings.load({"TITANIC_SOURCE_CSV": str(tmp_path / "env.csv")}).source_csv
    assert resolve_source(None, from_env).path.name == "env.csv"
    assert resolve_source(str(tmp_path / "cfg.csv"), from_env).path.name == "cfg.csv"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        (b"", r"empty \(0 bytes\)"),
        (
            b"pclass,survived,name,sex,age,sibsp,parch,ticket,fare,cabin,embarked\n",
            "no passenger rows",
        ),
        (b"\n\n", "no header and no rows"),
        (b"pclass,sex\n1,f\xe9male\n", "not UTF-8"),
    ],
)
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "passengers.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        read_source_csv(path)
