from tests.dependency_audit import audit

VULN = {"id": "PYSEC-2099-1", "aliases": ["CVE-2099-1"], "summary": "request smuggling", "fixed_in": ["3.15.0"],
        "withdrawn": None}  # fmt: skip


def project(latest, vulns=(), yanked=()):
    releases = {v: [{"yanked": v in yanked, "yanked_reason": "broken wheel" if v in yanked else None}]
                for v in ("1.0", "1.1", latest)}  # fmt: skip
    return {"info": {"version": latest}, "releases": releases, "vulnerabilities": list(vulns)}


def test_latest_releases_are_audited_and_older_ones_are_named_not_covered():
    projects = {
        "clean": project("2.0"),
        "vulnerable": project("3.14", [VULN, {**VULN, "id": "PYSEC-2099-2", "withdrawn": "2099-01-01"}]),
        "old": project("5.0", [VULN]),
        "pulled": project("1.2", yanked=("1.1",)),
    }
    result = audit({"clean": "2.0", "vulnerable": "3.14", "old": "1.0", "pulled": "1.1"}, projects.__getitem__)
    assert result.audited == ["clean 2.0", "vulnerable 3.14"]
    assert result.not_covered == ["old 1.0 (latest 5.0)", "pulled 1.1 (latest 1.2)"]
    assert result.findings == [
        "pulled 1.1: yanked on PyPI (broken wheel)",
        "vulnerable 3.14: PYSEC-2099-1, CVE-2099-1 (fixed in 3.15.0): request smuggling",
    ]


def test_a_project_pypi_cannot_serve_is_listed_not_passed():
    def fetch(name):
        raise OSError("Could not resolve host")

    result = audit({"a": "1"}, fetch)
    assert result.unreadable == ["a: Could not resolve host"] and not result.audited and not result.findings
