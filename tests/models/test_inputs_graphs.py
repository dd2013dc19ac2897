"""Models take their kNN graphs from the graphs stage's: fewer neighbours are exactly the graph
built with that k; more than were kept are built from the features."""
import dataclasses
import logging

import pytest

from siger_kedro.graphs.consistent_knn import consistent_knn_graphs
from siger_kedro.graphs.knn import knn_graph
from tiny import tiny_inputs


def _same(a, b) -> bool:
    return a.shape == b.shape and (a != b).nnz == 0


@pytest.mark.parametrize("k", [1, 2, 3, 4, 7])
def test_knn_graph_of_k_equals_the_graph_built_with_k(k, caplog):
    caplog.set_level(logging.INFO)
    inputs = tiny_inputs()  # the graphs stage kept K = 4
    for m in inputs.modalities:
        assert _same(inputs.knn_graph(m, k), knn_graph(inputs.features[m], k=k))
    assert ("built in the model" in caplog.text) == (k > 4)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_denoised_graphs_of_k_equal_the_graphs_built_with_k(k, caplog):
    caplog.set_level(logging.INFO)
    inputs = tiny_inputs()
    inputs = dataclasses.replace(inputs, consistent_knn=consistent_knn_graphs(inputs.features, k=3))
    direct = consistent_knn_graphs(inputs.features, k=k)
    assert all(_same(inputs.consistent_knn_graphs(k)[m], direct[m]) for m in inputs.modalities)
    assert ("built in the model" in caplog.text) == (k > 3)
    # built over other modalities than the model's: never reused
    one = dataclasses.replace(inputs, features={"image": inputs.features["image"]})
    assert _same(one.consistent_knn_graphs(2)["image"], consistent_knn_graphs(one.features, k=2)["image"])
