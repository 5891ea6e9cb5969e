"""`python -m sentgrid paper`: the paper's experiments on one base model as ordinary sweeps (grid.py), run
in order on one cache (command.py), then laid out as the paper: tables, Figs. 1-5 and MTEB result files under
reports/paper/<model>/ (layout.py, figures.py, mteb.py)."""
