from shared.datasets.loader import authenticity_labelled


def test_only_images_labelled_real_or_generated_are_kept_with_their_labels():
    images = ["a", "b", "c", "d", "e"]
    rows = [
        {"labels": {"authenticity": "generated"}},
        {"labels": {}},
        {"labels": {"authenticity": "real", "region": "x"}},
        {"labels": {"authenticity": "unknown"}},
        {"labels": {"authenticity": "real"}},
    ]
    kept, labels = authenticity_labelled(images, rows)
    assert kept == ["a", "c", "e"]
    assert labels == [1, 0, 0]
    assert authenticity_labelled([], []) == ([], [])
