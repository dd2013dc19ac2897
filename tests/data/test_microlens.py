import pytest

from siger_kedro.data.errors import DataFormatError
from siger_kedro.data.microlens import read_microlens, read_pairs, read_titles
from siger_kedro.data.prepare import prepare_interactions

# k=2 example (user, item):
#   (1,10) (1,11) (2,10) (2,11) (3,12) (3,10) (1,13) and a repeated (2,10).
# Pass 1: items 12 and 13 have one user -> drop (3,12), (1,13).
# Pass 2: user 3 is left with one row -> drop (3,10). Pass 3: nothing; 4 rows remain.
PAIRS = [(1, 10), (1, 11), (2, 10), (2, 11), (3, 12), (3, 10), (1, 13), (2, 10)]


def write_folder(tmp_path, header="user_id,item_id,timestamp"):
    folder = tmp_path / "MicroLens-100k"
    folder.mkdir()
    lines = [header] if header else []
    lines += [f"{u},{i},{1_600_000_000_000 + 500 * n}" for n, (u, i) in enumerate(PAIRS)]
    (folder / "MicroLens-100k_pairs.csv").write_text("\n".join(lines) + "\n")
    (folder / "MicroLens-100k_title_en.csv").write_text(
        'item,title\n10,"Cats, dogs  and\tbirds"\n12,Unused\n10,Second title ignored\n')
    covers = folder / "MicroLens-100k_covers"
    covers.mkdir()
    for name in ("10.png", "10.jpg", "11.png", "notes.txt"):
        (covers / name).write_bytes(b"\x89")
    return folder


@pytest.mark.parametrize("header", ["user_id,item_id,timestamp", "user,item,timestamp",
                                    "userID,videoID,timestamp", None])
def test_read_microlens_column_mappings_and_kcore(tmp_path, header):
    raw = read_microlens(write_folder(tmp_path, header), k=2)
    assert raw.format == "microlens"
    inter = raw.interactions
    assert inter[["user", "item"]].values.tolist() == [["1", "10"], ["1", "11"], ["2", "10"], ["2", "11"]]
    assert inter["timestamp"].tolist() == [1_600_000_000.0, 1_600_000_000.5, 1_600_000_001.0, 1_600_000_001.5]


def test_items_table(tmp_path):
    folder = write_folder(tmp_path)
    raw = read_microlens(folder, k=2)
    items = raw.items
    assert items.columns.tolist() == ["item", "text", "image_path"]
    assert items["item"].tolist() == ["10", "11"]
    assert items["text"].tolist() == ["Cats, dogs and birds", ""]  # first title, whitespace collapsed
    covers = folder / "MicroLens-100k_covers"
    assert items["image_path"].tolist() == [str(covers / "10.jpg"), str(covers / "11.png")]


def test_prepare_after_default_5_core(tmp_path):
    # Six users x five items (30 rows) is a 5-core; one extra user with 5 rows on a sixth
    # item that nobody else has loses that row, then its other 4, in a second pass.
    folder = tmp_path / "ml"
    folder.mkdir()
    rows = [(u, i) for u in range(6) for i in range(5)] + [(9, 99)] + [(9, i) for i in range(4)]
    (folder / "x_pairs.csv").write_text(
        "user,item,timestamp\n" + "".join(f"{u},{i},{1000 * n}\n" for n, (u, i) in enumerate(rows)))
    raw = read_microlens(folder)
    assert len(raw.interactions) == 30 and raw.items["text"].tolist() == [""] * 5
    _, _, _, info = prepare_interactions(raw, seed=0)
    # 5 rows per user (< 10) -> 3 / 1 / 1 each.
    assert (info["n_users"], info["n_items"], info["n_train"], info["n_valid"], info["n_test"]) == (6, 5, 18, 6, 6)


def test_missing_and_ambiguous_files(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(DataFormatError, match="no interaction file; expected a \\*pairs.csv.*readme.txt"):
        read_microlens(tmp_path)
    (tmp_path / "a_pairs.csv").write_text("user,item,timestamp\n1,2,3\n")
    (tmp_path / "b_pairs.csv").write_text("user,item,timestamp\n1,2,3\n")
    with pytest.raises(DataFormatError, match="several pairs files: a_pairs.csv, b_pairs.csv"):
        read_microlens(tmp_path)
    raw = read_microlens(tmp_path, k=1, pairs=tmp_path / "a_pairs.csv")  # explicit choice
    assert len(raw.interactions) == 1


def test_pairs_errors(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("uid,movie,timestamp\n1,2,3\n")
    with pytest.raises(DataFormatError, match="p.csv: header uid, movie, timestamp has no item column"):
        read_pairs(path)
    path.write_text("user,item,timestamp\n1,2,3\n1,,4\n")
    with pytest.raises(DataFormatError, match="line 3: empty field"):
        read_pairs(path)
    path.write_text("user,item,timestamp\n1,2,3\n1,3,yesterday\n")
    with pytest.raises(DataFormatError, match="line 3, column timestamp: expected a time in milliseconds"):
        read_pairs(path)
    path.write_text("")
    with pytest.raises(DataFormatError, match="empty file"):
        read_pairs(path)


def test_titles_headerless(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('5,"A, B"\n6,C\n')
    assert read_titles(path).values.tolist() == [["5", "A, B"], ["6", "C"]]
