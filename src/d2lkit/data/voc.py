"""`voc:PATH`: the Pascal VOC2012 semantic-segmentation layout, read as the book reads it.

PATH holds `ImageSets/Segmentation/{train,val}.txt` (one image name per line), `JPEGImages/
NAME.jpg` and `SegmentationClass/NAME.png` (the label drawn in colours, one per class). Colours
become class indices through a 256^3 lookup table (the book's `voc_colormap2label`); VOC's
object borders (224, 224, 192) and any colour outside the palette become 255, which the loss and
the metrics ignore. A gray label PNG is read as the class numbers themselves. Training images
are randomly cropped together with their labels; images smaller than the crop are left out (as
in the book), and the test images are centre-cropped so evaluation is the same every time.
Normalised with ImageNet's mean and std like the book.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from d2lkit.data.datasets import IGNORE_INDEX, DataBundle, DataOptions, register_dataset
from d2lkit.data.image_file import read_image
from d2lkit.data.imagefolder import IMAGENET_MEAN, IMAGENET_STD  # as the book normalises VOC
from d2lkit.data.sharding import ShardedDataLoader
from d2lkit.errors import D2lkitError

VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
    "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "potted plant",
    "sheep", "sofa", "train", "tv/monitor",
)  # fmt: skip
VOC_COLORMAP = (
    (0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0), (0, 0, 128), (128, 0, 128),
    (0, 128, 128), (128, 128, 128), (64, 0, 0), (192, 0, 0), (64, 128, 0), (192, 128, 0),
    (64, 0, 128), (192, 0, 128), (64, 128, 128), (192, 128, 128), (0, 64, 0), (128, 64, 0),
    (0, 192, 0), (128, 192, 0), (0, 64, 128),
)  # fmt: skip
BORDER_COLOR = (224, 224, 192)  # VOC draws object outlines in this colour; they are ignored
DEFAULT_CROP = (320, 480)  # the book's (height, width)


def colormap_to_label() -> torch.Tensor:
    """(256^3,) uint8 table: index r * 65536 + g * 256 + b -> class, 255 for other colours."""
    table = torch.full((256**3,), IGNORE_INDEX, dtype=torch.uint8)
    colors = torch.tensor(VOC_COLORMAP)  # (21, 3)
    classes = torch.arange(len(VOC_COLORMAP), dtype=torch.uint8)
    table[(colors[:, 0] * 256 + colors[:, 1]) * 256 + colors[:, 2]] = classes
    return table


def colors_to_labels(image: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """uint8 RGB (3, H, W) -> class indices (H, W) int64 (255 outside the palette)."""
    rgb = image.long()
    return table[(rgb[0] * 256 + rgb[1]) * 256 + rgb[2]].long()


def labels_to_colors(
    labels: torch.Tensor, colormap: Sequence[tuple[int, int, int]] = VOC_COLORMAP
) -> torch.Tensor:
    """Class indices (..., H, W) -> uint8 RGB (..., 3, H, W) in `colormap` (VOC's palette by
    default); 255 and other out-of-range values are drawn in the border colour."""
    palette = torch.tensor((*colormap, BORDER_COLOR), dtype=torch.uint8)  # (K + 1, 3)
    labels = labels.long()
    index = torch.where((labels >= 0) & (labels < len(colormap)), labels, len(colormap))
    return palette[index].movedim(-1, -3)


def read_listed(path: Path, keep_gray: bool = False) -> torch.Tensor:
    """`read_image` for a file the image list names: a missing one is a one-line error."""
    if not path.is_file():
        raise D2lkitError(f"{path}: missing; every name in the image list needs this file")
    return read_image(path, keep_gray)


def gray_class_numbers(rgb: torch.Tensor) -> bool:
    """Whether an RGB label map (3, H, W) holds class numbers drawn in gray (r = g = b = the
    class, or 255 ignored): no VOC colour but black is gray at those values, so the two forms
    cannot be mixed up."""
    values = rgb[0]
    numbers = (values < len(VOC_CLASSES)) | (values == IGNORE_INDEX)
    return bool((rgb == values).all() and numbers.all())


def read_label(path: Path, table: torch.Tensor) -> torch.Tensor:
    """A label map as class indices (H, W) uint8, 255 ignored, refused when it labels no pixel:
    an image the loss ignores entirely turns a batch of such maps into a 0/0 (NaN) loss."""
    labels = label_indices(path, table)
    if bool((labels == IGNORE_INDEX).all()):
        raise D2lkitError(
            f"{path}: no pixel is labelled (each is 255 or a colour outside the VOC palette), so"
            " all would be ignored; draw the classes in VOC's colours, or save class numbers"
            f" 0..{len(VOC_CLASSES) - 1} as a gray PNG"
        )
    return labels


def label_indices(path: Path, table: torch.Tensor) -> torch.Tensor:
    """The class indices (H, W) uint8 a label map holds. VOC draws labels in its palette's
    colours; a gray PNG is read as class numbers 0..20 (255 ignored), a common home-made form."""
    image = read_listed(path, keep_gray=True)
    if image.shape[0] == 3 and gray_class_numbers(image):
        image = image[:1]  # class numbers saved in an RGB file
    if image.shape[0] == 1:  # gray: the class numbers themselves
        labels = image[0]
        wrong = labels[(labels > len(VOC_CLASSES) - 1) & (labels != IGNORE_INDEX)]
        if len(wrong):
            raise D2lkitError(
                f"{path}: a gray label map holding {int(wrong[0])}; its pixels must be class"
                f" numbers 0..{len(VOC_CLASSES) - 1} or 255 (ignored)"
            )
        return labels.to(torch.uint8)
    return colors_to_labels(image, table).to(torch.uint8)


def read_split(root: Path, split: str) -> tuple[list[torch.Tensor], list[torch.Tensor], list[str]]:
    """Every image (uint8 (3, H, W)) and label map (uint8 (H, W)) listed for `split`."""
    listing = root / "ImageSets" / "Segmentation" / f"{split}.txt"
    if not listing.is_file():
        raise D2lkitError(
            f"{listing}: missing; voc:PATH must point at a VOC2012 folder (ImageSets/,"
            " JPEGImages/, SegmentationClass/)"
        )
    names = read_names(listing)
    table = colormap_to_label()
    images, labels = [], []
    for name in names:
        images.append(read_listed(root / "JPEGImages" / f"{name}.jpg"))
        label = read_label(root / "SegmentationClass" / f"{name}.png", table)
        if label.shape != images[-1].shape[1:]:
            raise D2lkitError(
                f"{root / 'SegmentationClass' / name}.png: {tuple(label.shape)} pixels but its"
                f" image is {tuple(images[-1].shape[1:])}; a label map must match its image"
            )
        labels.append(label)
    return images, labels, names


def read_names(listing: Path) -> list[str]:
    """The image names `listing` gives, one a line."""
    try:
        text = listing.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise D2lkitError(
            f"{listing}: is damaged (not UTF-8 text); it must list one image name per line, as"
            " VOC2012's does: restore it or write it again"
        ) from None
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names:
        raise D2lkitError(f"{listing}: lists no images")
    return names


class VOCSegmentation(Dataset):
    """Images at least `crop` in size, cropped with their labels: randomly for training,
    centred for testing. Items: (float (3, h, w) normalised, int64 (h, w))."""

    def __init__(self, root: str | Path, split: str, crop: tuple[int, int], train: bool) -> None:
        images, labels, names = read_split(Path(root), split)
        height, width = crop
        keep = [i for i, x in enumerate(images) if x.shape[1] >= height and x.shape[2] >= width]
        if not keep:
            raise D2lkitError(
                f"{root}: no {split} image is at least {height}x{width}; pass a smaller --resize"
            )
        self.left_out = len(images) - len(keep)  # smaller than the crop
        self.images = [images[i] for i in keep]
        self.labels = [labels[i] for i in keep]
        self.names = [names[i] for i in keep]
        self.crop = crop
        self.train = train
        self.mean = torch.tensor(IMAGENET_MEAN).reshape(3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD).reshape(3, 1, 1)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image, label = self.images[index], self.labels[index]
        height, width = self.crop
        if self.train:  # from torch's RNG, which ShardedDataLoader seeds for each image
            top = int(torch.randint(0, image.shape[1] - height + 1, ()))
            left = int(torch.randint(0, image.shape[2] - width + 1, ()))
        else:
            top, left = (image.shape[1] - height) // 2, (image.shape[2] - width) // 2
        image = image[:, top : top + height, left : left + width]
        label = label[top : top + height, left : left + width]
        return (image.float() / 255 - self.mean) / self.std, label.long()


@register_dataset("voc", applies=("resize",))
def voc_dataset(argument: str | None, options: DataOptions) -> DataBundle:
    """`voc:PATH`; `--resize R` crops RxR instead of the book's 320x480."""
    if argument is None:
        raise D2lkitError("voc needs the dataset folder: --dataset voc:PATH/VOC2012")
    root = Path(argument)
    if not root.is_dir():
        raise D2lkitError(f"{root}: no such folder; pass the VOC2012 folder as voc:PATH")
    crop = (options.resize, options.resize) if options.resize else DEFAULT_CROP
    train_set = VOCSegmentation(root, "train", crop, train=True)
    test_set = VOCSegmentation(root, "val", crop, train=False)
    # The images are already in memory and a crop is one slice: worker processes would only add
    # start-up time, so batches are made in the training process.
    # Like the book, the last short batch is dropped (batch norm on 1 image fails), unless it is
    # the only one.
    # ShardedDataLoader keeps the order and each image's crop in its state, so a resumed run
    # goes on with the batches the uninterrupted one would have drawn.
    drop_last = len(train_set) > options.batch_size
    train = ShardedDataLoader(
        train_set, options.batch_size, shuffle=True, seed=options.seed, drop_last=drop_last
    )
    test = DataLoader(test_set, options.batch_size)
    return DataBundle(
        train, test, num_classes=len(VOC_CLASSES), in_channels=3,
        class_names=list(VOC_CLASSES), task="segmentation",
        extra={
            "train_images": len(train_set), "test_images": len(test_set),
            "images_left_out": train_set.left_out + test_set.left_out,
        },
        normalization=(IMAGENET_MEAN, IMAGENET_STD),
    )  # fmt: skip
