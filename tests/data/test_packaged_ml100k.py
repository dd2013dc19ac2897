from siger_kedro.data.prepare import prepare_interactions
from siger_kedro.data.raw import packaged_dataset_folder, read_raw_folder


def test_packaged_ml100k_reads_in_place():
    folder = packaged_dataset_folder("ml-100k")
    assert folder is not None and (folder / "ml-100k.inter").is_file()
    raw = read_raw_folder(folder, "ml-100k")
    assert raw.format == "atomic" and len(raw.interactions) == 100_000
    assert len(raw.items) == 1682
    _, user_ids, item_ids, info = prepare_interactions(raw, seed=2024)
    assert (info["n_users"], info["n_items"]) == (943, 1682)
    assert info["n_train"] + info["n_valid"] + info["n_test"] == 100_000
    assert info["n_duplicates_dropped"] == 0


def test_packaged_folder_unknown_name():
    assert packaged_dataset_folder("baby") is None
