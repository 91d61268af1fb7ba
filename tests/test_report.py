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
    assert len(p.srcs) == 3
    for src in p.srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "report.md").read_text()
    assert all(h in md for h in ("## Derived map (exact)", "## Thresholds", "## Verification", "## Figures"))
    assert "eta_max | 4/lam0 | leading order in 1/n" in md
    assert all((tmp_path / f"{k}.png").exists() for k in ("trajectory", "phase", "flatness"))


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


def _net_table():
    import pandas as pd
    return pd.DataFrame({"activation": "relu", "depth": 2, "width": 8, "seed": [0] * 4 + [1] * 4,
                         "c": [1.0, 3.0, 5.0, 9.0] * 2,
                         "verdict": ["lazy", "catapult", "catapult", "divergent", "lazy", "catapult", "divergent",
                                     "divergent"],
                         "loss_peak_ratio": [1.0, 4.0, 20.0, 1e30, 1.0, 3.0, 1e40, 1e50],
                         "eta_lam_final": [0.9, 1.9, 2.0, None, 0.95, 1.95, None, None],
                         "test_accuracy": [0.8, 0.9, 0.85, float("nan"), 0.8, 0.92, float("nan"), float("nan")]})


def test_a_net_sweep_table_is_a_networks_section_and_a_figure(tmp_path, capsys):
    """--nets TABLE: the thresholds of the sweep (computed from the table: seed 0 c_max 5, seed 1 c_max 3) and its
    figure, whose plotted peaks are the table's (a divergent run's at the axis top)."""
    table = tmp_path / "sweep.csv"
    _net_table().to_csv(table, index=False)
    assert main(["report", "-o", str(tmp_path / "r"), "--only", "a", "-j", "1", "--nets", str(table)]) == 0
    page = (tmp_path / "r" / "index.html").read_text()
    p = Page()
    p.feed(page)
    assert p.sections == ["map", "thresholds", "verification", "networks", "figures"] and len(p.srcs) == 4
    md = (tmp_path / "r" / "report.md").read_text()
    rows = [ln for ln in md.splitlines() if ln.startswith("| relu |")]
    assert [r.split(" | ")[5] for r in rows] == ["5.0", "3.0"]    # c_max per seed
    from catapult.verify.plots import net_sweep_figure
    ax = net_sweep_figure(_net_table()).axes[0]
    assert ax.lines[0].get_ydata().tolist() == [1.0, 4.0, 20.0, 200.0] and ax.lines[0].get_gid() == "relu-L2-n8-s0"


def test_a_bad_net_table_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "t.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["report", "-o", str(tmp_path / "r"), "--nets", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a net-sweep table" in err and not (tmp_path / "r").exists()
