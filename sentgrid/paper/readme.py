"""`python -m sentgrid.paper.readme` (`make readme-results`): the project README's results, regenerated from
the paper reports. Each block

    <!-- paper: reports/paper/minilm -->
    ...
    <!-- /paper -->

is replaced by that folder's summary.md (the answers, the main tables and Figs. 4-5), so the README's
numbers are the report's, never copied by hand (tests/unit/test_paper_grid.py checks it)."""
import re
import sys
from pathlib import Path

BLOCK = re.compile(r"(<!-- paper: (?P<folder>[^ ]+) -->\n)(?P<body>.*?)(<!-- /paper -->)", re.S)


def blocks(text: str) -> list[tuple[str, str]]:
    """[(report folder, the block's body)] in the order they appear."""
    return [(m["folder"], m["body"]) for m in BLOCK.finditer(text)]


def regenerate(readme: Path, root: Path) -> list[str]:
    """Replace every block's body by its report's summary.md; the folders replaced."""
    text, done = readme.read_text(), []

    def body(match):
        summary = root / match["folder"] / "summary.md"
        if not summary.exists():
            raise SystemExit(f"sentgrid.paper.readme: {summary} does not exist; run python -m sentgrid paper first "
                             f"(the block in {readme.name} names {match['folder']}).")
        done.append(match["folder"])
        return match[1] + summary.read_text().strip() + "\n" + match[4]

    readme.write_text(BLOCK.sub(body, text))
    return done


def main() -> int:
    root = Path.cwd()
    done = regenerate(root / "README.md", root)
    print(f"README.md: {len(done)} result block(s) regenerated: {', '.join(done) or 'none found'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
