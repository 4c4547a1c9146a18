import numpy as np

from napari_segkit.render import montage, overview, tinted


def test_montage_places_tiles_under_their_names():
    tiles = [np.full((40, 60, 3), v, np.uint8) for v in (0, 100, 200)]
    picture = montage(tiles, ["a", "b", "c"], columns=2)
    band = picture.shape[0] // 2 - 40 - 3  # rows of (band + 40 + gap)
    assert picture.shape[1] == 2 * 60 + 2 * 3
    assert (picture[band : band + 40, :60] == 0).all()
    assert (picture[band : band + 40, 63:123] == 100).all()
    assert (picture[:band, :60] < 128).any()  # the name is drawn in the band


def test_tinted_and_overview_mark_the_objects():
    image = np.zeros((20, 20), np.uint16)
    image[5:15, 5:15] = 1000
    mask = image > 0
    picture = tinted(image, mask)
    assert (picture[mask][:, 1] < picture[mask][:, 0]).all()  # magenta inside
    assert (picture[~mask] == 0).all()
    edges = overview(image, mask.astype(int))
    assert (edges[5, 5] != edges[10, 10]).any()  # the outline differs from the inside
