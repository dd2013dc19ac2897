import gzip
import json

import numpy as np
import pytest

from siger_kedro.data.amazon import (
    IMAGE_DIM, image_features_for, image_features_path, item_text, read_amazon,
    read_image_features_b, read_meta, read_ratings_csv, read_reviews_json,
)
from siger_kedro.data.errors import DataFormatError
from siger_kedro.data.prepare import prepare_interactions

CAT = "Baby"
ASIN = [f"B00000000{n}" for n in range(10)]
NOISE_ITEM = "B0000000YY"


def interactions():
    """(user, asin, time) rows, k=5 example.

    - ux (first lines, 4 rows) has < 5 rows -> dropped in pass 1.
    - NOISE_ITEM has 4 users (u1, u2, u3, uz) -> dropped in pass 1.
    - uz has 5 rows, one on NOISE_ITEM -> 4 after pass 1 -> dropped in pass 2.
    - u1..u5 x 10 items (u3 first, starting with ASIN[7]) and u6 x ASIN[0..4]: every item keeps
      >= 5 users, so 55 rows remain; one duplicate (u1, ASIN[0]) is dropped first.
    """
    rows = [("ux", ASIN[n], 1) for n in (3, 2, 1, 0)]
    order = [7, 0, 1, 2, 3, 4, 5, 6, 8, 9]
    for u in ("u3", "u1", "u2", "u4", "u5"):
        rows += [(u, ASIN[n], 100 + n) for n in order]
    rows += [("u6", ASIN[n], 200 + n) for n in range(5)]
    rows += [(u, NOISE_ITEM, 300) for u in ("u1", "u2", "u3", "uz")]
    rows += [("uz", ASIN[n], 400 + n) for n in range(4)]
    rows.append(("u1", ASIN[0], 999))  # duplicate pair
    return rows  # 4 + 50 + 5 + 4 + 4 + 1 = 68 rows


def write_gz_lines(path, lines):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def write_reviews(folder, rows):
    write_gz_lines(folder / f"reviews_{CAT}_5.json.gz", [
        json.dumps({"reviewerID": u, "asin": a, "reviewerName": "x", "helpful": [0, 0],
                    "reviewText": "ok", "overall": 5.0, "summary": "s", "unixReviewTime": t,
                    "reviewTime": "01 1, 2014"}) for u, a, t in rows])


def write_ratings(folder, rows):
    (folder / f"ratings_{CAT}.csv").write_text("".join(f"{u},{a},4.0,{t}\n" for u, a, t in rows))


# Real meta lines are Python literals: single quotes, nested lists, dicts, escapes.
META = [
    r"""{'asin': 'B000000007', 'title': 'Soft  "Baby" Blanket', 'brand': 'Acme', 'salesRank': {'Baby': 12}, 'categories': [['Baby', 'Nursery', 'Bedding'], ['Gifts']], 'description': 'Warm\n and cozy.', 'imUrl': 'http://ecx.images-amazon.com/images/I/1.jpg'}""",
    r"""{'asin': 'B000000000', 'title': "Kid's Cup", 'categories': [['Baby', 'Feeding']], 'imUrl': 'http://x/0.jpg'}""",
    r"""{'asin': 'B0000000YY', 'title': 'Dropped item'}""",
] + [f"{{'asin': '{ASIN[n]}', 'title': 'Item {n}', 'related': {{'also_bought': ['B0001']}}}}" for n in (1, 2, 3, 4, 6, 8, 9)]
# ASIN[5] has no meta line.


def dataset_folder(tmp_path, fmt="reviews"):
    folder = tmp_path / CAT
    folder.mkdir()
    (write_reviews if fmt == "reviews" else write_ratings)(folder, interactions())
    write_gz_lines(folder / f"meta_{CAT}.json.gz", META)
    return folder


@pytest.mark.parametrize("fmt", ["reviews", "ratings"])
def test_read_amazon_kcore_and_mmrec_split(tmp_path, fmt):
    raw = read_amazon(dataset_folder(tmp_path, fmt), CAT)
    assert raw.format == "amazon" and raw.name == CAT
    assert raw.interactions.columns.tolist() == ["user", "item", "timestamp"]
    assert len(raw.interactions) == 55  # 68 - 1 duplicate - 4 (ux) - 4 (noise item) - 4 (uz, pass 2)
    assert set(raw.interactions["user"]) == {"u1", "u2", "u3", "u4", "u5", "u6"}
    assert raw.interactions["timestamp"].iloc[0] == 107.0  # first kept row: (u3, ASIN[7])

    inter, user_ids, item_ids, info = prepare_interactions(raw, seed=3)
    assert user_ids["original"].tolist() == ["u3", "u1", "u2", "u4", "u5", "u6"]
    assert item_ids["original"].tolist() == [ASIN[n] for n in (7, 0, 1, 2, 3, 4, 5, 6, 8, 9)]
    # u1..u5: 10 rows -> h = 2 -> 8 / 1 / 1; u6: 5 rows (< 10) -> 3 / 1 / 1.
    assert (info["n_users"], info["n_items"]) == (6, 10)
    assert (info["n_train"], info["n_valid"], info["n_test"]) == (5 * 8 + 3, 5 + 1, 5 + 1)
    assert info["n_duplicates_dropped"] == 0  # already done by read_amazon


def test_k_is_configurable(tmp_path):
    raw = read_amazon(dataset_folder(tmp_path), CAT, k=4)
    # k=4: ux (4 rows), uz (5) and the noise item (4 users) all survive: 67 rows after dedup.
    assert len(raw.interactions) == 67


def test_items_table_text_and_urls(tmp_path):
    raw = read_amazon(dataset_folder(tmp_path), CAT)
    items = raw.items.set_index("item")
    assert raw.items["item"].tolist()[:2] == [ASIN[7], ASIN[0]]  # first-appearance order
    assert len(items) == 10 and NOISE_ITEM not in items.index
    assert items.loc[ASIN[7], "text"] == 'Soft "Baby" Blanket Acme Baby Nursery Bedding Warm and cozy.'
    assert items.loc[ASIN[7], "image_url"] == "http://ecx.images-amazon.com/images/I/1.jpg"
    assert items.loc[ASIN[0], "text"] == "Kid's Cup Baby Feeding"
    assert items.loc[ASIN[5], "text"] == "" and items.loc[ASIN[5], "image_url"] == ""
    assert items.loc[ASIN[1], "image_url"] == ""


def test_item_text_recipe():
    assert item_text({"title": " A\tB ", "brand": "C", "categories": [["x y", "z"], ["not used"]],
                      "description": "d\n\ne"}) == "A B C x y z d e"
    assert item_text({"description": "only"}) == "only"
    assert item_text({"title": "t", "brand": None, "categories": []}) == "t"
    assert item_text({}) == ""


def test_meta_literal_eval_never_executes(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "meta.json.gz"
    write_gz_lines(path, [META[0], f"__import__('os').system('touch {marker}')"])
    for wanted in (None, {ASIN[7]}):
        with pytest.raises(DataFormatError, match=r"meta\.json\.gz: line 2"):
            read_meta(path, wanted)
    assert not marker.exists()


def test_meta_malformed_lines(tmp_path):
    path = tmp_path / "meta.json.gz"
    write_gz_lines(path, [META[0], "['a', 'list']"])
    with pytest.raises(DataFormatError, match=r"line 2: expected a dict with key 'asin', found list"):
        read_meta(path)
    write_gz_lines(path, [META[0], "{'asin': 'B1', 'title': 'unterminated}"])
    with pytest.raises(DataFormatError, match="line 2: not a Python-literal dict"):
        read_meta(path)
    # A visibly unwanted item's line is skipped unparsed; the wanted one is read.
    write_gz_lines(path, [META[0], "{'asin': 'B1', 'title': broken}"])
    assert read_meta(path, {ASIN[7]})["item"].tolist() == [ASIN[7]]


def test_reviews_errors(tmp_path):
    path = tmp_path / "r.json.gz"
    good = json.dumps({"reviewerID": "u", "asin": "a", "overall": 5.0, "unixReviewTime": 1})
    write_gz_lines(path, [good, json.dumps({"reviewerID": "u", "overall": 5.0})])
    with pytest.raises(DataFormatError, match="r.json.gz: line 2: missing key.*asin, unixReviewTime"):
        read_reviews_json(path)
    write_gz_lines(path, [good, good, "{not json"])
    with pytest.raises(DataFormatError, match="line 3: not valid JSON"):
        read_reviews_json(path)
    path.write_text(good)  # not gzipped
    with pytest.raises(DataFormatError, match="gzip"):
        read_reviews_json(path)


def test_ratings_errors(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("u,a,5.0,100\nu,b,4.0\n")
    with pytest.raises(DataFormatError, match="ratings.csv: line 2: missing field"):
        read_ratings_csv(path)
    path.write_text("u,a,5.0,100\nu,b,4.0,100,7\n")
    with pytest.raises(DataFormatError, match="line 2"):
        read_ratings_csv(path)
    path.write_text("u,a,5.0,100\n\nu,b,4.0,soon\n")
    with pytest.raises(DataFormatError, match="line 2: missing field"):  # the blank line
        read_ratings_csv(path)
    path.write_text("u,a,5.0,100\nu,b,4.0,soon\n")
    with pytest.raises(DataFormatError, match="line 2, field 4: expected a unix time, found 'soon'"):
        read_ratings_csv(path)


def test_no_interaction_file_lists_expected_names(tmp_path):
    write_gz_lines(tmp_path / f"meta_{CAT}.json.gz", META)
    with pytest.raises(DataFormatError, match=f"reviews_{CAT}_5.json.gz or ratings_{CAT}.csv.*meta_{CAT}"):
        read_amazon(tmp_path, CAT)


def vec(seed):
    return np.random.default_rng(seed).standard_normal(IMAGE_DIM).astype(np.float32)


def write_b(path, records, tail=b""):
    with open(path, "wb") as f:
        for asin, v in records:
            f.write(asin.encode("ascii") + v.astype("<f4").tobytes())
        f.write(tail)


def test_image_features_b_reading_and_mean_fill(tmp_path):
    path = tmp_path / f"image_features_{CAT}.b"
    records = [(ASIN[7], vec(0)), ("B0000000ZZ", vec(1)), (ASIN[0], vec(2)), (ASIN[1], vec(3)),
               (ASIN[0], vec(4))]  # a repeated asin: the first record wins
    write_b(path, records)
    assert image_features_path(tmp_path, CAT) == path and image_features_path(tmp_path, "Toys") is None

    for chunk in (1, 2, 256):  # chunk boundaries must not matter
        asins, matrix = read_image_features_b(path, chunk_records=chunk)
        assert asins == [ASIN[7], "B0000000ZZ", ASIN[0], ASIN[1]]
        assert matrix.dtype == np.float32 and matrix.shape == (4, IMAGE_DIM)
        np.testing.assert_array_equal(matrix[2], vec(2))
    asins, matrix = read_image_features_b(path, {ASIN[1], ASIN[0], "B0000000QQ"})
    assert asins == [ASIN[0], ASIN[1]]
    np.testing.assert_array_equal(matrix, np.stack([vec(2), vec(3)]))

    order = [ASIN[1], ASIN[5], ASIN[7], ASIN[0], ASIN[9]]
    feats, n_missing = image_features_for(path, order)
    assert n_missing == 2 and feats.shape == (5, IMAGE_DIM) and feats.dtype == np.float32
    mean = (vec(3).astype(np.float64) + vec(0) + vec(2)) / 3  # found rows only, not ZZ
    np.testing.assert_array_equal(feats[0], vec(3))
    np.testing.assert_array_equal(feats[2], vec(0))
    np.testing.assert_array_equal(feats[3], vec(2))
    np.testing.assert_allclose(feats[1], mean, rtol=1e-6)
    np.testing.assert_allclose(feats[4], mean, rtol=1e-6)

    with pytest.raises(DataFormatError, match="no image feature record for any of the 1 items"):
        image_features_for(path, ["B0000000QQ"])


def test_image_features_truncated_record(tmp_path):
    path = tmp_path / "img.b"
    write_b(path, [(ASIN[0], vec(0)), (ASIN[1], vec(1))], tail=ASIN[2].encode() + b"\0" * 90)
    record = 10 + 4 * IMAGE_DIM
    for chunk in (1, 256):
        with pytest.raises(DataFormatError, match=f"img.b: truncated record at byte offset {2 * record}: 100 bytes"):
            read_image_features_b(path, chunk_records=chunk)
