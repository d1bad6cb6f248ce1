import copy
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from sheetcrm.dedupe_rules import load_rules_dict
from sheetcrm.sync.dedupe import DedupeRules, find_duplicates, match_previous_contacts
from sheetcrm.sync.dedupe_engine import BlockKey, EngineRules, ExactKey, link, pair_counts

RAW = load_rules_dict()
RULES = DedupeRules.from_dict(RAW)


def leads(rows):
    cols = ["lead_id", "name", "company", "email", "phone", "owner", "created_at", "duplicate_of"]
    df = pd.DataFrame([dict(zip(cols, r)) for r in rows], columns=cols)
    df["created_at"] = pd.to_datetime(df["created_at"])
    return df


def rules_with(mod):
    d = copy.deepcopy(RAW)
    mod(d)
    return DedupeRules.from_dict(d)


def test_old_prefix_phone_joins_and_survivor_is_oldest():
    df = leads([
        ("KH-000001", "Trần An", "", "", "0389 123 456", "Hà", "2026-02-01", ""),
        ("KH-000002", "Tran An", "", "", "01689123456", "Hà", "2026-01-01", ""),
    ])
    f = find_duplicates(df, RULES).frame
    assert f.survivor.tolist() == [False, True]
    assert f.duplicate_of.tolist() == ["KH-000002", ""]
    assert f.issue[0] == "trùng số điện thoại với KH-000002"
    assert find_duplicates(df, RULES, language="en").frame.issue[0] == "same phone as KH-000002"


def test_survivor_ties_broken_by_sheet_order_and_blank_date_last():
    df = leads([
        ("KH-1", "A", "", "a@x.vn", "", "", None, ""),
        ("KH-2", "B", "", "a@x.vn", "", "", "2026-01-01", ""),
        ("KH-3", "C", "", "A@X.VN ", "", "", "2026-01-01", ""),
    ])
    f = find_duplicates(df, RULES).frame
    assert f.survivor.tolist() == [False, True, False]
    assert set(f.duplicate_of[[0, 2]]) == {"KH-2"}


def test_transitivity_phone_then_email():
    df = leads([
        ("KH-1", "Lê Bình", "", "", "0912345678", "", "2026-01-01", ""),
        ("KH-2", "Le Binh", "", "binh@x.vn", "+84 912 345 678", "", "2026-01-02", ""),
        ("KH-3", "Bình", "", "BINH@x.vn", "", "", "2026-01-03", ""),
    ])
    r = find_duplicates(df, RULES)
    assert r.frame.cluster.nunique() == 1 and r.clusters == 1 and r.duplicates == 2
    assert r.frame.duplicate_of.tolist() == ["", "KH-1", "KH-1"]


def test_fuzzy_name_company_with_accents_d_and_legal_forms():
    df = leads([
        ("KH-1", "Đặng Văn Đức", "Công ty TNHH Đại Phát", "", "0912345678", "", "2026-01-01", ""),
        ("KH-2", "DANG VAN DUC", "Dai Phat JSC", "duc@x.vn", "", "", "2026-01-02", ""),
    ])
    f = find_duplicates(df, RULES).frame
    assert f.duplicate_of[1] == "KH-1"
    assert f.issue[1] == "trùng tên và công ty với KH-1"
    # Without the legal forms the companies differ and the fuzzy match is lost.
    no_forms = rules_with(lambda d: d.update(legal_forms=[]))
    assert find_duplicates(df, no_forms).frame.cluster.tolist() == [-1, -1]


def test_look_alike_names_with_contradicting_keys_are_two_people():
    df = leads([
        ("KH-1", "Nguyễn Văn An", "Cty ABC", "", "0912345678", "", "2026-01-01", ""),
        ("KH-2", "Nguyễn Văn An", "Cty XYZ", "", "0987654321", "", "2026-01-02", ""),
        ("KH-3", "Nguyễn Văn An", "Cty ABC", "", "0977777777", "", "2026-01-03", ""),
        ("KH-4", "Nguyễn Văn An", "", "an@x.vn", "", "", "2026-01-04", ""),  # name alone
    ])
    assert find_duplicates(df, RULES).frame.cluster.tolist() == [-1, -1, -1, -1]


def test_switchboard_number_is_not_evidence():
    limit = RULES.engine.common_key_limit
    n = limit + 1
    df = leads([(f"KH-{i}", f"Người {i} Khác {chr(65 + i)}", "Cty ABC", "", "028 3822 1234", "", "2026-01-01", "")
                for i in range(n)])
    r = find_duplicates(df, RULES)
    assert (r.frame.cluster == -1).all() and r.common_keys == 1
    # The same rows under a looser limit would all be joined: the limit is the rule.
    loose = rules_with(lambda d: d["keys"].update(common_key_limit=n))
    assert find_duplicates(df, loose).frame.cluster.nunique() == 1


def test_role_email_is_not_a_key():
    df = leads([
        ("KH-1", "Lan", "", "info@abc.vn", "", "", "2026-01-01", ""),
        ("KH-2", "Hùng", "", "INFO@abc.vn", "", "", "2026-01-02", ""),
    ])
    assert find_duplicates(df, RULES).frame.cluster.tolist() == [-1, -1]
    keep = rules_with(lambda d: d["keys"].update(role_email_local_parts=[]))
    assert find_duplicates(df, keep).frame.cluster.tolist() == [0, 0]


@pytest.mark.parametrize("marker", ["không trùng", "Khong Trung", "not duplicate", "không trùng KH-1"])
def test_not_a_duplicate_marker_is_respected_and_kept(marker):
    df = leads([
        ("KH-1", "Trần An", "", "", "0912345678", "Hà", "2026-01-01", ""),
        ("KH-2", "Trần An", "", "", "0912345678", "Lan", "2026-01-02", marker),
    ])
    r = find_duplicates(df, RULES)
    assert r.frame.cluster.tolist() == [-1, -1]
    assert r.frame.duplicate_of.tolist() == ["", marker]
    assert r.frame.issue.tolist() == ["", ""] and r.collisions == 0
    # An old sync-written id is not a marker: the pair is flagged again.
    df.loc[1, "duplicate_of"] = "KH-1"
    assert find_duplicates(df, RULES).frame.duplicate_of[1] == "KH-1"


def test_collision_flags_every_member_and_counts():
    df = leads([
        ("KH-1", "Trần An", "", "", "0912345678", "Hà", "2026-01-01", ""),
        ("KH-2", "Trần An", "", "", "0912345678", "Lan", "2026-01-02", ""),
        ("KH-3", "Lê Bình", "", "b@x.vn", "", "Hà", "2026-01-02", ""),
        ("KH-4", "Lê Bình", "", "b@x.vn", "", "hà ", "2026-01-03", ""),
    ])
    r = find_duplicates(df, RULES)
    assert r.frame.collision.tolist() == [True, True, False, False] and r.collisions == 1
    assert "Hà, Lan" in r.frame.collision_issue[0] and "KH-1" in r.frame.collision_issue[1]
    # The survivor's own row names the other member, not itself.
    assert r.frame.collision_issue[0].startswith("cùng khách hàng với KH-2 ")


def test_collision_owners_listed_in_the_order_met_inside_their_cluster():
    df = leads([
        ("KH-1", "Trần An", "", "", "0912345678", "Hà", "2026-01-01", ""),
        ("KH-2", "Trần An", "", "", "0912345678", "Lan", "2026-01-02", ""),
        ("KH-3", "Lê Bình", "", "", "0987654321", "LAN", "2026-01-03", ""),
        ("KH-4", "Lê Bình", "", "", "0987654321", "", "2026-01-04", ""),
        ("KH-5", "Lê Bình", "", "", "0987654321", "ha", "2026-01-05", ""),
    ])
    issue = find_duplicates(df, RULES).frame.collision_issue
    assert issue[0].endswith(": Hà, Lan") and issue[2].endswith(": LAN, ha")
    assert issue[3].endswith(": LAN, ha")  # a member without an owner is flagged too


def test_a_survivor_in_a_big_collision_names_three_others_then_an_ellipsis():
    df = leads([(f"KH-{k}", "Trần An", "", "", "0912345678", owner, f"2026-01-0{k}", "")
                for k, owner in zip(range(1, 7), ["Hà", "Lan", "Hà", "Minh", "Hà", "Lan"])])
    issue = find_duplicates(df, RULES).frame.collision_issue
    assert issue[0] == ("cùng khách hàng với KH-2, KH-3, KH-4, … nhưng do nhiều người phụ trách: "
                        "Hà, Lan, Minh")
    assert issue[5].startswith("cùng khách hàng với KH-1 ")


def test_stable_over_two_runs_and_row_order_of_ids():
    from bench.dedupe_data import generate_leads

    df, truth = generate_leads(3000, seed=5)
    a = find_duplicates(df, RULES)
    df2 = df.copy()
    df2["duplicate_of"] = a.frame.duplicate_of  # the first run's output written back
    b = find_duplicates(df2, RULES)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    tp, pred, actual = pair_counts(a.frame.cluster.to_numpy(), truth)
    assert tp / pred > 0.97 and tp / actual > 0.93


def test_engine_veto_blocks_transitive_fuzzy_chain():
    # B (email only) looks like A (phone p1) and C (phone p2); A and C can't be joined.
    df = pd.DataFrame({"phone": ["p1", None, "p2"], "email": [None, "e", None],
                       "name": ["nguyen an", "nguyen an", "nguyen an"], "company": ["x", "x", "x"]})
    r = link(df, RULES.engine)
    assert sorted(np.bincount(r.cluster[r.cluster >= 0]).tolist()) == [2]


def test_engine_is_generic():
    df = pd.DataFrame({"id": ["1", "1", "2", None], "x": ["a", "b", "c", "d"]})
    r = link(df, EngineRules(exact_keys=(ExactKey("id"),)))
    assert r.cluster.tolist() == [0, 0, -1, -1]


def test_rules_validation_names_the_field():
    for mod, field in [
        (lambda d: d["keys"].pop("common_key_limit"), "keys.common_key_limit"),
        (lambda d: d["keys"].update(common_key_limit="x"), "keys.common_key_limit"),
        (lambda d: d["match"].pop("threshold"), "match.threshold"),
        (lambda d: d["match"]["fields"][0].update(scorer="nope"), "match.fields[0]"),
        (lambda d: d["messages"]["vi"].pop("duplicate"), "messages.vi.duplicate"),
        (lambda d: d.pop("legal_forms"), "legal_forms"),
    ]:
        d = copy.deepcopy(RAW)
        mod(d)
        with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
            DedupeRules.from_dict(d)


def test_previous_contacts_only_other_lead_ids():
    df = leads([
        ("KH-1", "Trần An", "", "", "0912345678", "", "2026-03-20", ""),
        ("KH-2", "Lê Bình", "", "b@x.vn", "", "", "2026-03-20", ""),
        ("KH-45", "Trần An", "", "", "0912345678", "", "2026-01-01", ""),
        ("KH-9", "Ai Đó", "", "", "0900000009", "", "2026-01-01", ""),
    ])
    rej = pd.DataFrame({"lead_id": ["KH-45"], "name": ["Trần An"], "company": [""], "email": [""],
                        "phone": ["+84 912 345 678"], "logged_at": pd.to_datetime(["2026-03-12"]),
                        "reason_category": ["price"]})
    nur = pd.DataFrame({"lead_id": ["KH-46"], "name": ["Lê Bình"], "email": ["B@X.VN"], "phone": [""],
                        "nurture_start": pd.to_datetime(["2026-01-05"]), "reason_category": ["later"],
                        "state": ["active"]})
    out = match_previous_contacts(df, rej, nur, RULES, reason_labels={"price": "Giá quá cao"})
    assert out.tolist() == ["đã từ chối ngày 12/03/2026 vì Giá quá cao (KH-45)",
                            "đang nuôi dưỡng từ 05/01/2026 (KH-46)", "", ""]
    en = match_previous_contacts(df, rej, nur, RULES, language="en", reason_labels={"price": "Price too high"})
    assert en[0] == "rejected on 12/03/2026 because Price too high (KH-45)"


def test_validated_key_columns_are_used_as_given(monkeypatch):
    # The pipeline passes validation's phone_e164 / email_norm: those are the keys, and
    # the raw cells are not parsed again.
    from sheetcrm.sync import dedupe

    df = leads([
        ("KH-1", "A", "", "x", "not a phone", "", "2026-01-01", ""),
        ("KH-2", "B", "", "y", "also not", "", "2026-01-02", ""),
    ])
    df["phone_e164"] = ["+84912345678", "+84912345678"]
    df["email_norm"] = [None, ""]
    monkeypatch.setattr(dedupe, "normalize_phone", lambda *a, **k: pytest.fail("phone parsed again"))
    monkeypatch.setattr(dedupe, "normalize_email", lambda *a, **k: pytest.fail("email parsed again"))
    f = find_duplicates(df, RULES).frame
    assert f.cluster.tolist() == [0, 0] and f.duplicate_of[1] == "KH-1"
    keys = dedupe.key_columns(df, RULES)
    assert keys.email.isna().all()


def test_validated_role_email_still_not_a_key():
    df = leads([("KH-1", "Lan", "", "", "", "", "2026-01-01", ""),
                ("KH-2", "Hùng", "", "", "", "", "2026-01-02", "")])
    df["email_norm"] = ["info@abc.vn", "info@abc.vn"]
    assert find_duplicates(df, RULES).frame.cluster.tolist() == [-1, -1]


def test_rows_without_lead_id_are_named_by_sheet_row():
    df = leads([("", "Trần An", "", "", "0912345678", "", "2026-01-01", ""),
                ("", "Tran An", "", "", "+84 912 345 678", "", "2026-01-02", "")])
    df["row"] = [7, 9]
    assert find_duplicates(df, RULES).frame.issue[1] == "trùng số điện thoại với dòng 7"


def test_name_without_company_is_never_a_fuzzy_candidate():
    # Name alone cannot reach the threshold, so such rows are not even blocked.
    df = leads([("KH-1", "Nguyễn Văn An", "", "", "0912345678", "", "2026-01-01", ""),
                ("KH-2", "Nguyen Van An", "", "an@x.vn", "", "", "2026-01-02", "")])
    r = link(find_keys(df), RULES.engine)
    assert r.candidate_pairs == 0 and r.cluster.tolist() == [-1, -1]
    # With a company on both rows the same pair is a candidate and a match.
    df["company"] = ["Cty Đại Phát", "Dai Phat JSC"]
    r = link(find_keys(df), RULES.engine)
    assert r.candidate_pairs == 1 and r.cluster.tolist() == [0, 0]


def find_keys(df):
    from sheetcrm.sync.dedupe import key_columns

    return key_columns(df, RULES).reset_index(drop=True)


# --- engine: ids typed with typos (a tolerant veto key) -----------------------------

ID_RULES = EngineRules.from_dict({
    "threshold": 5.0,
    "exact": [{"column": "id", "veto": True, "tolerance": 1}],
    "fuzzy": [{"column": "name", "scorer": "ratio", "agree": 4.0, "disagree": 4.0, "mid": 0.7},
              {"column": "dob", "scorer": "exact", "agree": 3.0, "disagree": 3.0, "mid": 0.5}],
    "blocks": [["dob", "id:3"], ["dob", "id:-3"], {"columns": ["dob"], "max_size": 6}],
})


def people(rows):
    return pd.DataFrame(rows, columns=["id", "name", "dob"])


def test_tolerant_key_one_typo_still_agrees():
    df = people([("1234567", "anna smith", "19800101"), ("1243567", "anna smith", "19800101"),
                 ("1234567", "anna smyth", "19800101")])  # transposition; equal id
    assert link(df, ID_RULES).cluster.tolist() == [0, 0, 0]


def test_far_id_joins_its_only_look_alike():
    # FEBRL replaces some ids outright: the one look-alike is still the same person...
    df = people([("1234567", "anna smith", "19800101"), ("9876501", "anna smith", "19800101"),
                 ("5555123", "bob jones", "19800101")])
    assert link(df, ID_RULES).cluster.tolist() == [0, 0, -1]
    # ...without the ambiguity rule a far id would be a plain veto.
    strict = replace(ID_RULES, exact_keys=(ExactKey("id", True, 0),))
    assert link(df, strict).cluster.tolist() == [-1, -1, -1]


def test_far_id_with_two_look_alikes_is_ambiguous():
    # Two different people (ids far apart) look exactly alike: a third record with yet
    # another id cannot be told to belong to either, so all stay apart; the rule must
    # not chain them into one cluster.
    df = people([("1234567", "anna smith", "19800101"), ("9876501", "anna smith", "19800101"),
                 ("4440222", "anna smith", "19800101")])
    assert link(df, ID_RULES).cluster.tolist() == [-1, -1, -1]
    # Its typo'd twin is still found: the ambiguity is only about far ids.
    df.loc[3] = ("1234576", "anna smith", "19800101")
    assert link(df, ID_RULES).cluster.tolist() == [0, -1, -1, 0]


def test_block_size_cap_per_pass():
    # Eight people share a birth date: the capped id-free pass skips that block (no 28
    # pairs), and the id-split passes still pair the typo'd twins.
    rows = [(str(k) * 7, f"person {k}", "19800101") for k in range(1, 8)]
    rows.append(("1111112", "person 1", "19800101"))
    r = link(people(rows), ID_RULES)
    assert r.candidate_pairs == 1 and r.cluster.tolist() == [0, -1, -1, -1, -1, -1, -1, 0]
    uncapped = replace(ID_RULES, blocks=ID_RULES.blocks[:2] + (BlockKey(("dob",)),))
    assert link(people(rows), uncapped).candidate_pairs == 28


def test_tolerance_must_not_be_negative():
    with pytest.raises(ValueError, match="tolerance"):
        EngineRules(exact_keys=(ExactKey("id", True, -1),))


def test_identical_rows_are_one_record_typed_again():
    """A row pasted again is the same record, joined even when its phone is on so many
    rows that the phone itself is no longer evidence."""
    limit = RULES.engine.common_key_limit
    row = ("", "Lê Thị Hoa", "Cty Hoa Mai", "", "0903 111 222", "Lan", "2026-02-01", "")
    other = ("", "Lê Thị Hoa", "Cty Bình An", "", "0903 111 222", "Hùng", "2026-02-02", "")
    few = leads([row, row, other])
    few["lead_id"] = ["KH-0", "KH-1", "KH-2"]
    r = find_duplicates(few, RULES)
    assert r.common_keys == 0 and r.frame.cluster.tolist() == [0, 0, 0]
    assert r.frame.duplicate_of.tolist() == ["", "KH-0", "KH-0"]
    assert "số điện thoại" in r.frame.issue.iloc[1]
    # the same phone on more rows than the limit (copies count): a switchboard that
    # joins nobody, while the copies are still one record
    many = leads([row] * limit + [other])
    many["lead_id"] = [f"KH-{i}" for i in range(len(many))]
    r = find_duplicates(many, RULES)
    assert r.common_keys == 1
    assert r.frame.cluster.tolist() == [0] * limit + [-1]
    assert r.frame.duplicate_of.tolist()[1:limit] == ["KH-0"] * (limit - 1)


def test_identical_rows_marked_not_duplicate_stay_apart():
    row = ("KH-1", "Lê Thị Hoa", "Cty Hoa Mai", "", "0903 111 222", "Lan", "2026-02-01", "")
    df = leads([row, row[:7] + ("không trùng",), row])
    df["lead_id"] = ["KH-1", "KH-2", "KH-3"]
    assert find_duplicates(df, RULES).frame.cluster.tolist() == [0, -1, 0]


def test_engine_links_identical_rows_without_any_key():
    rules = EngineRules(blocks=(BlockKey(("name",)),), threshold=99.0)
    df = pd.DataFrame({"name": ["an", "an", "binh", "an"]})
    res = link(df, rules)
    assert res.cluster.tolist() == [0, 0, -1, 0]
    assert res.reason.tolist() == ["fuzzy", "fuzzy", "", "fuzzy"]


def test_equal_id_contradicted_by_everything_else_needs_confirming():
    """A typo can land exactly on another person's id: with `confirm`, equal ids join
    only records whose other fields do not contradict them."""
    df = people([("1234567", "anna smith", "19800101"), ("1234567", "anna smyth", "19800101"),
                 ("1234567", "bob jones", "19511230")])
    assert link(df, ID_RULES).cluster.tolist() == [0, 0, 0]  # an equal id joins outright
    confirmed = replace(ID_RULES, exact_keys=(ExactKey("id", True, 1, confirm=-2.0),))
    assert link(df, confirmed).cluster.tolist() == [0, 0, -1]
    assert EngineRules.from_dict({"threshold": 1, "exact": [
        {"column": "id", "confirm": -2}]}).exact_keys[0].confirm == -2.0
