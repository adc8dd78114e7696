"""The build's revision: written file first, then the git checkout, else unknown."""

from __future__ import annotations

import pytest

from exporter import build

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_revision_file_is_trimmed_and_validated(tmp_path):
    (tmp_path / "REVISION").write_text(SHA + "\n")
    assert build._from_file(tmp_path / "REVISION") == SHA[:12]
    (tmp_path / "REVISION").write_text("unknown\n")
    assert build._from_file(tmp_path / "REVISION") is None
    assert build._from_file(tmp_path / "absent") is None


@pytest.mark.parametrize("layout", ["detached", "loose", "packed"])
def test_git_head_in_every_layout(tmp_path, layout):
    git = tmp_path / ".git"
    git.mkdir()
    if layout == "detached":
        (git / "HEAD").write_text(SHA + "\n")
    else:
        (git / "HEAD").write_text("ref: refs/heads/main\n")
        if layout == "loose":
            (git / "refs" / "heads").mkdir(parents=True)
            (git / "refs" / "heads" / "main").write_text(SHA + "\n")
        else:
            (git / "packed-refs").write_text(
                f"# pack-refs with: peeled\n{'f' * 40} refs/heads/other\n{SHA} refs/heads/main\n"
            )
    assert build._from_git(git) == SHA[:12]


def test_no_git_and_a_broken_ref_are_not_guessed(tmp_path):
    assert build._from_git(tmp_path / ".git") is None
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/gone\n")
    assert build._from_git(tmp_path / ".git") is None


def test_revision_prefers_the_file_then_git_then_unknown(tmp_path, monkeypatch):
    package = tmp_path / "exporter"
    package.mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("f" * 40 + "\n")
    monkeypatch.setattr(build, "_PACKAGE", package)
    build.revision.cache_clear()
    try:
        assert build.revision() == "f" * 12
        build.revision.cache_clear()
        (package / "REVISION").write_text(SHA)
        assert build.revision() == SHA[:12]
        build.revision.cache_clear()
        (package / "REVISION").unlink()
        (tmp_path / ".git" / "HEAD").unlink()
        assert build.revision() == "unknown"
    finally:
        build.revision.cache_clear()
