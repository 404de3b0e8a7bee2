"""Static maps: Chinese text drawn with a font that has the characters, PNG/PDF/SVG written atomically."""

import os

import numpy as np
import pytest
from maps_fixtures import sample_city

from gridmap.errors import GridmapError, WriteError
from gridmap.maps import MEASURES, cjk_font, static_map
from gridmap.maps import static as static_module


@pytest.fixture(scope="module")
def city():
    return sample_city()


def test_png_uses_a_font_with_every_chinese_character(tmp_path, city, monkeypatch):
    from matplotlib import font_manager
    from matplotlib.figure import Figure

    sample, grids = city
    drawn = []
    save = Figure.savefig

    def record(figure, *args, **kwargs):  # the texts and fonts on the figure when it is saved
        for text in figure.findobj(lambda artist: hasattr(artist, "get_fontproperties")
                                   and hasattr(artist, "get_text")):
            if text.get_text():
                drawn.append((text.get_text(), text.get_fontproperties().get_file()))
        return save(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    title = "示例市 2025年6月 每千人案件数"
    out = static_map(grids, tmp_path / "cases.png", measure="cases_per_1000", cases=sample.cases,
                     period="2025-06", communities=sample.communities, title=title)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    texts = {text for text, _ in drawn}
    assert title in texts and f"每千人案件数 ({MEASURES['cases_per_1000'].unit_zh})" in texts
    for text, font in drawn:
        chinese = {ord(char) for char in text if ord(char) >= 0x2E80}
        if chinese:
            assert font is not None, text
            assert chinese <= font_manager.get_font(font).get_charmap().keys(), text


def test_png_is_drawn_not_blank(tmp_path, city):
    from matplotlib.image import imread

    out = static_map(city[1], tmp_path / "density.png", dpi=60)
    pixels = imread(out)
    assert pixels.shape[0] > 300 and pixels.std() > 0.1
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 20  # classes, lines, text


def test_cjk_font_has_the_characters():
    from matplotlib import font_manager

    font = font_manager.get_font(cjk_font("网格化服务管理一屏驾驶舱"))
    assert all(ord(char) in font.get_charmap() for char in "网格化服务管理一屏驾驶舱")
    assert "CJK" in font.family_name or "Han" in font.family_name or "Hei" in font.family_name


@pytest.mark.parametrize("suffix, magic", [(".pdf", b"%PDF"), (".svg", b"<?xml")])
def test_pdf_and_svg(tmp_path, city, suffix, magic):
    out = static_map(city[1].head(60), tmp_path / f"map{suffix}", measure="households")
    assert out.read_bytes()[:len(magic)] == magic


def test_no_chinese_font_is_a_clear_error_and_english_still_works(tmp_path, city, monkeypatch):
    from matplotlib import font_manager

    monkeypatch.setattr(font_manager.fontManager, "ttflist",
                        [e for e in font_manager.fontManager.ttflist if "DejaVu" in e.name])
    # no Chinese font on the machine: rebuilding the font cache finds none either
    monkeypatch.setattr(font_manager, "_load_fontmanager",
                        lambda try_read_cache=True: font_manager.fontManager)
    with pytest.raises(GridmapError, match="fonts-noto-cjk"):
        static_map(city[1].head(10), tmp_path / "zh.png")
    assert not os.listdir(tmp_path)
    assert static_map(city[1].head(10), tmp_path / "en.png", lang="en").exists()


def test_bad_output_and_measure(tmp_path, city):
    with pytest.raises(WriteError, match=r"\.png, \.pdf or \.svg"):
        static_map(city[1], tmp_path / "map.jpg")
    with pytest.raises(GridmapError, match="cases="):
        static_map(city[1], tmp_path / "map.png", measure="cases_per_km2")
    with pytest.raises(WriteError, match="folder"):
        static_map(city[1], tmp_path / "missing" / "map.png")


def test_failed_write_leaves_the_old_file(tmp_path, city, monkeypatch):
    target = tmp_path / "map.png"
    target.write_bytes(b"old")

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(static_module.os, "replace", fail)
    with pytest.raises(WriteError, match="the disk is full"):
        static_map(city[1].head(10), target)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["map.png"]
