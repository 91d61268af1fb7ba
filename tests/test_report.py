"""catapult report: a self-contained page (no external resource) with every section, figures as embedded PNGs."""

import base64
import re
from html.parser import HTMLParser

import pytest

from catapult.verify.cli import main
from catapult.verify.report import SECTIONS


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sections, self.srcs, self.links, self.rows, self._tr = [], [], [], 0, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.sections.append(a.get("id"))
        if tag == "img":
            self.srcs.append(a["src"])
        if tag in ("link", "script") or (tag == "a" and "href" in a):
            self.links.append(a)
        if tag == "tr":
            self.rows += 1


@pytest.mark.slow
def test_the_report_has_every_section_and_embedded_figures(tmp_path, capsys):
    assert main(["report", "-o", str(tmp_path), "--only", "a", "-j", "1"]) == 0
    p = Page()
    p.feed((tmp_path / "index.html").read_text())
    assert p.sections == list(SECTIONS)
    assert p.links == []                                    # nothing to fetch: it opens offline
    assert len(p.srcs) == 2
    for src in p.srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "report.md").read_text()
    assert all(h in md for h in ("## Derived map (exact)", "## Thresholds", "## Verification", "## Figures"))
    assert "eta_max | 4/lam0 | leading order in 1/n" in md
    assert (tmp_path / "trajectory.png").exists() and (tmp_path / "phase.png").exists()


def test_a_model_file_report_has_its_rows_and_its_map(tmp_path, capsys):
    import os
    f = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "verify", "models", "quadratic.toml")
    assert main(["report", "--model-file", f, "-o", str(tmp_path), "--no-figures"]) == 0
    page = (tmp_path / "index.html").read_text()
    p = Page()
    p.feed(page)
    assert p.sections == list(SECTIONS) and p.srcs == []
    assert re.search(r"catapult report: model quadratic, loss f\*\*2/2; (\d+)/\1 checks pass", page)
    assert main(["report", "--model-file", f, "--only", "a", "-o", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
