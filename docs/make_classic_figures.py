"""Make docs/images/classic-methods.png, the picture in docs/segmentation.md.

    python docs/make_classic_figures.py
"""

from pathlib import Path

import imageio.v3 as iio

import napari_segkit as sk
from napari_segkit import metrics, samples
from napari_segkit.render import montage, overview

OUT = Path(__file__).parent / "images" / "classic-methods.png"


def main() -> None:
    volume = samples.nuclei_2d(count=60, touching=True)
    image, truth, spacing = volume.data, volume.metadata["truth"], volume.spacing
    results = {
        "threshold + label": sk.label(sk.threshold(image)),
        "split touching objects": sk.split_touching_objects(image, spacing=spacing),
        "Voronoi-Otsu": sk.voronoi_otsu_labeling(image, spot_sigma=1.0, outline_sigma=0.3,
                                                 spacing=spacing),
        "edges (Canny)": sk.edge_regions(image, "canny", sigma=0.6, close_gaps=0.35,
                                         min_size=5, spacing=spacing),
        "k-means, k=2": sk.kmeans(image, 2, mode="instance") * (sk.kmeans(image, 2) == 2),
        "SLIC superpixels": sk.slic(image, n_segments=600),
        "Felzenszwalb": sk.felzenszwalb(image, scale=300, min_size=30),
        "Chan-Vese": sk.label(sk.chan_vese(image, iterations=60)),
    }
    tiles, names = [], []
    for name, labels in results.items():
        tiles.append(overview(image, labels))
        names.append(f"{name}: F1 {metrics.f1(labels, truth):.2f}")
    OUT.parent.mkdir(exist_ok=True)
    iio.imwrite(OUT, montage(tiles, names, columns=4))
    print("\n".join(names))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
