"""The paper's grid and the README's results: the grid composes to the cells docs/paper.md counts, every
result block of the README is its report's summary.md (regenerated, never copied by hand), and the
summary's main tables are the report's CSV tables."""
import io
import re

import pandas as pd
import pytest

from sentgrid.paper.grid import DEMO, PAPER, paper_grid
from sentgrid.paper.readme import blocks, regenerate
from sentgrid.paths import PROJECT_ROOT


@pytest.mark.parametrize("model, layers, axes, cells", [("minilm", 6, PAPER, 203), ("mpnet", 12, PAPER, 251),
                                                        ("minilm", 6, DEMO, 101), ("mpnet", 12, DEMO, 137)])
def test_the_paper_grid_composes_to_the_cells_the_docs_count(model, layers, axes, cells, data_root):
    from sentgrid.plan import expand

    counted = sum(len(expand([*s.overrides, "task=all", f"data.root={data_root}"]))
                  for s in paper_grid(model, layers, axes))
    assert counted == cells
    assert "**203 / 251**" in (PROJECT_ROOT / "docs" / "paper.md").read_text()  # the docs' counts
    assert "**101 / 137**" in (PROJECT_ROOT / "docs" / "paper.md").read_text()


def test_each_sweep_says_what_it_feeds_and_why():
    sweeps = paper_grid("minilm", 6)
    assert len({s.name for s in sweeps}) == len(sweeps)
    assert all(s.feeds and len(s.why) > 40 for s in sweeps)
    layers = next(s for s in sweeps if s.name == "layers").overrides
    assert "layer.layers=[0],[1],[2],[3],[4],[5],[6],[1,6]" in layers


def markdown_tables(text: str) -> list[pd.DataFrame]:
    tables = re.findall(r"((?:^\|.*\|\n)+)", text, flags=re.M)
    frames = []
    for table in tables:
        lines = [line for i, line in enumerate(table.strip().splitlines()) if i != 1]  # no separator row
        rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
        frames.append(pd.read_csv(io.StringIO("\n".join("\t".join(r) for r in rows)), sep="\t"))
    return frames


def test_the_readme_results_are_the_reports_summaries_and_their_numbers_the_reports_tables():
    readme = (PROJECT_ROOT / "README.md").read_text()
    found = blocks(readme)
    assert found, "the README shows no paper results block"
    for folder, body in found:
        report = PROJECT_ROOT / folder
        assert body.strip() == (report / "summary.md").read_text().strip(), f"run make readme-results ({folder})"
        shown = markdown_tables(body)
        assert len(shown) == 3  # the main table of STS, clustering and classification
        for number, (family, table) in enumerate(zip(("sts", "clustering", "classification"), shown), 1):
            kept = pd.read_csv(report / f"table{number}_{family}.csv")
            assert list(table["model"]) == list(kept["model"])
            for column in ("plain", "best shaped"):
                assert list(table[column]) == [round(v, 2) for v in kept[column]], (family, column)
        for image in re.findall(r"\]\(([^)]+\.png)\)", body):
            assert (PROJECT_ROOT / image).stat().st_size > 10_000, image


def test_regenerate_replaces_each_block_by_its_summary(tmp_path):
    (tmp_path / "r" / "x").mkdir(parents=True)
    (tmp_path / "r" / "x" / "summary.md").write_text("new numbers\n")
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- paper: r/x -->\nold numbers\n<!-- /paper -->\nend\n")
    assert regenerate(readme, tmp_path) == ["r/x"]
    assert readme.read_text() == "intro\n<!-- paper: r/x -->\nnew numbers\n<!-- /paper -->\nend\n"
    (tmp_path / "r" / "x" / "summary.md").unlink()
    with pytest.raises(SystemExit, match="run python -m sentgrid paper first"):
        regenerate(readme, tmp_path)


def test_sweeps_planned_as_one_count_a_shared_forward_pass_once(tmp_path, data_root):
    from sentgrid.plan.estimate import plan

    common = ["task.max_items=10", f"cache.dir={tmp_path}", f"data.root={data_root}"]
    mean, most = ["pooling=avg", *common], ["pooling=max", *common]  # two sweeps' cells, one primitive pass
    alone = plan([], cells=[mean])
    together = plan([], cells=[mean, most])
    assert together["cells"] == 2 and together["forward_passes"] == alone["forward_passes"] == 1
    assert [d["bytes"] for d in together["disk"]] == [d["bytes"] for d in alone["disk"]]


def test_sweeps_planned_as_one_keep_the_layers_each_reads_as_they_do_when_they_run(tmp_path, data_root):
    from sentgrid.plan.estimate import plan

    common = ["task.max_items=10", f"cache.dir={tmp_path}", f"data.root={data_root}", "cache.layers=requested",
              "layer=index"]
    last, first = ["layer.index=6", *common], ["layer.index=0", *common]
    alone = plan([], cells=[last])
    two_sweeps = plan([], cells=[last, first], groups=[0, 1])
    one_sweep = plan([], cells=[last, first])
    stored = lambda report: sum(d["bytes"] for d in report["disk"])  # noqa: E731
    # two sweeps: each stores its own layer's entries; one sweep: one entry per dataset keeping both layers
    assert len(two_sweeps["entry_bytes"]) == 2 * len(alone["entry_bytes"]) == 2 * len(one_sweep["entry_bytes"])
    assert stored(two_sweeps) == pytest.approx(2 * stored(alone)) == pytest.approx(stored(one_sweep))
    # a sweep over every layer first: its entries keep them all, and the later sweep's cell reads those
    every = [*common[:-1], "layer=mean_of", "layer.layers=[0,1,2,3,4,5,6]"]
    whole_first = plan([], cells=[every, last], groups=[0, 1])
    assert whole_first["entry_bytes"].keys() == plan([], cells=[every])["entry_bytes"].keys()
    assert whole_first["listing"][1]["keys"] == whole_first["listing"][0]["keys"]


@pytest.mark.parametrize("number, passed_on", [("SIGTERM", ["SIGTERM"]), ("SIGINT", [])])
def test_an_interrupted_sweep_is_waited_for_and_a_kill_passed_on(monkeypatch, number, passed_on):
    import signal

    from sentgrid.paper import command

    class Child:  # a sweep that is signalled while the paper waits for it, then records its cell and stops
        signals = []

        def __init__(self, arguments):
            self.arguments = arguments

        def wait(self):
            signal.getsignal(getattr(signal, number))(getattr(signal, number), None)
            return 0 if number == "SIGINT" else 130  # even a sweep that ended well stops the paper after it

        def send_signal(self, sent):
            Child.signals.append(signal.Signals(sent).name)

    monkeypatch.setattr(command.subprocess, "Popen", Child)
    before = signal.getsignal(signal.SIGTERM)
    assert command.run_sweep(["pooling=avg"]) == 130
    assert Child.signals == passed_on  # Ctrl-C reached the child from the terminal; a kill named the paper alone
    assert signal.getsignal(signal.SIGTERM) is before


def test_storage_removes_a_sweeps_entries_only_when_all_of_it_does_not_fit_and_no_later_sweep_reads_them():
    from sentgrid.paper.command import Storage

    gib = 2**30
    keys = {"bert": {"prim", "tok_bert"}, "mix": {"prim", "tok_shared"}, "layers": {"prim_all", "tok_shared"}}
    sizes = {"prim": 1 * gib, "tok_bert": 5 * gib, "tok_shared": 4 * gib, "prim_all": 2 * gib}  # tok_*: token states

    def storage(free):
        report = {"entry_bytes": sizes, "disk": [{"free": free, "check_space": True, "cache_dir": "/c"}]}
        return Storage.of(list(keys), keys, report)

    roomy = storage(20 * gib)
    assert roomy.total == 12 * gib and not roomy.pruning and roomy.refusal() is None
    # 6 GiB after bert, whose token entry goes (1 left); then 5, of which prim goes; then 6: at most 6 at once
    tight = storage(7 * gib)
    assert tight.pruning and tight.peak == 6 * gib and tight.refusal() is None
    assert tight.prunable == {"bert": ["tok_bert"], "mix": ["prim"], "layers": []}  # the last sweep's stay
    refused = storage(5.5 * gib)
    assert "6 GiB at once" in refused.refusal().replace(".00", "") and "cache.layers=requested" in refused.refusal()
    # a token pass's scratch counts while its sweep runs: bert's 3 GiB on top of its 6
    report = {"entry_bytes": sizes, "scratch_bytes": {"tok_bert": 3 * gib, "tok_shared": 1 * gib},
              "disk": [{"free": 7 * gib, "scratch": 3 * gib, "check_space": True, "cache_dir": "/c"}]}
    scratched = Storage.of(list(keys), keys, report)
    assert scratched.peak == 9 * gib and "9 GiB at once" in scratched.refusal().replace(".00", "")
