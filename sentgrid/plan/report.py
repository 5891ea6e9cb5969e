"""A plan as a person reads it: the summary lines, sizes in units that show them, and the refusal of a
sweep that cannot fit on its cache's disk."""

def size(count: float) -> str:
    """Bytes in the unit that shows them: 1.50 GiB, 38.2 MiB, 512 KiB."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if count >= scale:
            return f"{count / scale:.{2 if unit == 'GiB' else 1}f} {unit}"
    return f"{count / 2**10:.0f} KiB"


def too_big(report: dict) -> str | None:
    """One sentence when a sweep would store more than its cache's disk holds (and cache.check_space is on)."""
    for disk in report.get("disk", []):
        if disk["check_space"] and disk["bytes"] + disk.get("scratch", 0) > disk["free"]:
            scratch = f" and use {size(disk['scratch'])} of scratch while a token pass runs" if disk.get("scratch") else ""
            return (f"this sweep would store about {size(disk['bytes'])}{scratch} in cache.dir={disk['cache_dir']}, "
                    f"but only {size(disk['free'])} are free there; free space (python -m sentgrid cache du), "
                    f"set cache.dir elsewhere or cache.dtype=float16 (half the primitives' size), or start it anyway "
                    f"with cache.check_space=false.")
    return None


def passes_phrase(passes: int, lead: str = "") -> str:
    """'2 forward passes' (after `lead`), or nothing when no entry is left to encode. A forward pass encodes
    every missing entry (one per dataset) of one encoder identity together."""
    return f"{lead}{passes} forward pass{'es' * (passes != 1)}" if passes else ""


def format_plan(report: dict, cells: bool = False) -> str:
    lines = []
    if cells:
        for item in report["listing"]:
            estimate = f"{item['estimate_seconds']:>7.1f} s" if "estimate_seconds" in item else f"{'':>9}"
            lines.append(f"  {item['state']:<34}{estimate}  {' '.join(item['cell']) or 'defaults'}")
        lines.append("  (seconds besides encoding; encoding is estimated for the sweep as a whole below)\n")
    lines += [f"cells            {report['cells']} ({report['finished']} already finished, {report['to_run']} to run)",
             f"cache entries    {report['entries']} ({report['cached']} cached, {report['to_encode']} to encode"
             f"{passes_phrase(report['forward_passes'], ' in ')})"]
    for label, model in report["models"].items():
        lines.append(f"  {label:<22} {model['sentences']:,} sentences ({model['characters'] / 1e6:.1f} M characters) to "
                     f"encode at {model['characters_per_s']:,} characters/s ({model['throughput']})")
    for build_ in report["tables"]:
        lines.append(f"table            {build_['table']}: ~{build_['seconds']:.0f} s to build ({build_['speed']} speed)")
    for disk in report["disk"]:
        budget = f"; cache.max_gb={disk['max_gb']}: least recently used entries are evicted beyond it" \
            if disk["max_gb"] is not None and disk["bytes"] > disk["max_gb"] * 2**30 else ""
        fits = "" if disk["bytes"] + disk.get("scratch", 0) <= disk["free"] else " -- does not fit"
        scratch = f", {size(disk['scratch'])} of scratch while a token pass runs" if disk.get("scratch") else ""
        lines.append(f"disk             about {size(disk['bytes'])} to store in {disk['cache_dir']}{scratch} "
                     f"({size(disk['free'])} free{fits}{budget})")
    for later in report.get("later_layers", []):
        lines.append(f"cache.layers     requested: {later['model']} entries keep layers {later['kept']}; a later sweep "
                     f"over other layers encodes their {later['sentences']:,} sentences again "
                     f"(~{later['seconds'] / 60:.1f} min)")
    minutes = report["estimate_seconds"] / 60
    tables = f"{report['estimate_table_seconds']:.0f} s building tables, " if report["tables"] else ""
    lines.append(f"estimate         {minutes:.1f} min ({report['estimate_encode_seconds']:.0f} s encoding, {tables}"
                 f"{report['estimate_cells_seconds']:.0f} s start, cache reads, pooling, post-processing and evaluation)")
    return "\n".join(lines)
