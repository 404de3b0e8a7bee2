"""``gridmap demo``: every step gridmap has, run on the bundled sample city."""

from __future__ import annotations

import click

from gridmap.cli._output import staged_folder

__all__ = ["demo"]


@click.command(epilog="""
\b
Example:
  gridmap demo --out demo     # writes demo/gridmap.gpkg and demo/index.html
""")
@click.option("--out", "out", type=click.Path(file_okay=False), default="demo", show_default=True,
              help="Folder to write into (created if needed).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of map labels, legends and popups.")
@click.pass_context
def demo(ctx: click.Context, out: str, lang: str) -> None:
    """Load, validate and map the sample city (示例市), writing a GeoPackage and an HTML map."""
    from gridmap.datasets import load_sample
    from gridmap.io import write_layer
    from gridmap.maps import overview_map, save_html
    from gridmap.validation import validate_admin, validate_units

    city = load_sample()
    layers = {}
    findings = []
    for name, parents in (("districts", None), ("streets", "districts"), ("communities", "streets")):
        frame, report = validate_admin(getattr(city, name), parents=layers.get(parents), path=city.path / name)
        layers[name], findings = frame, findings + [report]
    layers["units"], report = validate_units(city.units, path=city.path / "units")
    findings.append(report)

    with staged_folder(out) as staging:
        gpkg = staging / "gridmap.gpkg"
        for name, frame in layers.items():
            write_layer(frame, gpkg, name, mode="a")
        fmap = overview_map(**layers, lang=lang, title="示例市 网格化服务管理" if lang == "zh" else "Sample city")
        save_html(fmap, staging / "index.html")

    if not ctx.obj["quiet"]:
        for report in findings:
            click.echo(report.summary())
        click.echo(f"wrote {out}/gridmap.gpkg ({', '.join(layers)}) and {out}/index.html")
