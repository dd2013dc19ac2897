import numpy as np
import pandas as pd
import pytest

from siger_kedro.features.text import encode_texts, item_texts

MOVIES = pd.DataFrame({
    "item": ["1", "2", "3"],
    "movie_title": ["Toy Story", "GoldenEye", "Unknown  Film"],
    "release_year": ["1995", "1995", np.nan],
    "class": ["Animation Children's Comedy", "Action Adventure Thriller", ""],
})


def test_item_texts_movielens_template():
    texts = item_texts(MOVIES, "{movie_title} ({release_year}) {class}")
    assert texts == ["Toy Story (1995) Animation Children's Comedy",
                     "GoldenEye (1995) Action Adventure Thriller",
                     "Unknown Film ()"]


def test_item_texts_unknown_column():
    with pytest.raises(ValueError, match="brand"):
        item_texts(MOVIES, "{movie_title} {brand}")


def test_encode_texts_default_model():
    emb = encode_texts(["Toy Story (1995)", "GoldenEye (1995)", "Toy Story (1995)"], show_progress=False)
    assert emb.shape == (3, 384) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-3)
    np.testing.assert_array_equal(emb[0], emb[2])
    assert not np.allclose(emb[0], emb[1])
