"""The overview as OVERVIEW_BLOCKS: each block on its own, the list in order, a block added."""

from __future__ import annotations

from test_summary import NOW, QUALITY, SCHEMAS, TODAY, frames

from sheetcrm.changes import ChartSpec
from sheetcrm.sync import summary as S


def overview(blocks=None, language="vi"):
    return S.build_overview(*frames(), QUALITY, SCHEMAS, TODAY, NOW, language=language, blocks=blocks)


def subtitles(layout):
    return [layout.cells[r - 1][c - 1] for r, c, style in layout.styles if style == "subtitle"]


def test_the_default_is_the_list():
    assert overview() == overview(S.OVERVIEW_BLOCKS)


def test_blocks_write_their_tables_in_list_order():
    L = S.labels("vi", SCHEMAS)
    assert subtitles(overview()) == [L[k] for k in (
        "kpi_title", "status_title", "funnel_title", "stage_time_title", "owner_title", "src_title",
        "reasons_title", "reasons_owner_title", "reasons_product_title", "reasons_month_title", "nurture_title",
        "react_reason_title", "react_cadence_title", "react_content_title", "backlog_title", "quality_title",
        "learning_title")]
    assert [c.key for c in overview().charts] == ["funnel", "owner_status", "reasons"]


def test_each_block_alone_writes_what_it_names():
    L = S.labels("vi", SCHEMAS)
    alone = {
        S.key_figures_block: ["kpi_title", "status_title"],
        S.funnel_block: ["funnel_title", "stage_time_title"],
        S.owner_status_block: ["owner_title"],
        S.sources_block: ["src_title"],  # no campaign in these frames' sources
        S.cost_quarter_block: [],  # these frames come without a `Chi phí` tab
        S.backlog_block: ["backlog_title"],
        S.reasons_block: ["reasons_title"],
        S.reasons_by_owner_block: ["reasons_owner_title"],
        S.reasons_by_product_block: ["reasons_product_title"],
        S.reasons_by_month_block: ["reasons_month_title"],
        S.nurture_block: ["nurture_title"],
        S.reactivation_block: ["react_reason_title", "react_cadence_title", "react_content_title"],
        S.quality_block: ["quality_title"],
        S.reason_learning_block: ["learning_title"],
    }
    assert set(alone) | {S.header_block} == set(S.OVERVIEW_BLOCKS)
    for block, keys in alone.items():
        assert subtitles(overview([S.header_block, block])) == [L[k] for k in keys], block.__name__


def test_a_block_left_out_moves_the_rest_up():
    without = overview([b for b in S.OVERVIEW_BLOCKS if b is not S.nurture_block])
    full = overview()
    assert S.labels("vi", SCHEMAS)["nurture_title"] not in subtitles(without)
    assert len(without.cells) < len(full.cells)
    assert without.charts == full.charts  # the charts sit above nurture


def test_an_added_block_lands_at_the_end_with_its_chart():
    def owners_block(c: S.OverviewContext, g: S.Grid) -> None:
        rows = [[k, v] for k, v in sorted(c.f["by_status"].items())]
        pos = g.table("Extra", ["status", "n"], rows, [None, "integer"])
        g.charts.append(ChartSpec(key="extra", kind="bar", title="Extra",
                                  categories=(pos["first"], 1, pos["last"], 1),
                                  series=((pos["header"], 2, pos["last"], 2),), anchor=(pos["title"], S.CHART_COL),
                                  width=300, height=200))

    lay = overview([*S.OVERVIEW_BLOCKS, owners_block])
    full = overview()
    assert subtitles(lay)[-1] == "Extra"
    assert lay.cells[: len(full.cells) - 1] == full.cells[: len(full.cells) - 1]
    assert lay.charts[:-1] == full.charts and lay.charts[-1].key == "extra"
    assert lay.charts[-1].anchor[0] > max(r for r, _, s in full.styles if s == "subtitle")
