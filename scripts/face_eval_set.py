"""Assembles the enlarged labelled face set and the bench photographs (see docs/MODERATION.md).

Run by scripts/face-eval.sh after it has unpacked the packages into WORK/x:

    python3 scripts/face_eval_set.py WORK

Writes WORK/set/face/*, WORK/set/noface/* (next to the images face-eval.sh copies there) and
WORK/bench/{people,none}-*.jpg. Needs Pillow only. Every image is labelled by hand: a "face" image
shows at least one human face (a photograph, or a painted portrait of a real person), a "noface"
image shows none: no mask of one, and none but the hard negatives below (cartoon faces, a
rendered monkey head, a drawn fish, a sudoku grid), which a moderator would let pass.
"""

import math
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

WORK = Path(sys.argv[1])
X = WORK / "x"
SET = WORK / "set"
BENCH = WORK / "bench"

SKI = "skimage/data"
MPL = "matplotlib/mpl-data/sample_data"
INS = "insightface-0.7.3/insightface/data/images"
FR = "face_recognition-1.3.0/tests/test_images"
FX = "facexlib-0.3.0/assets"
SCRFD = "scrfd-0.3.0/images"
Y5F = "yolov5_face-0.0.2"
RESR = "realesrgan-0.3.0/inputs"
SFM = "synthetic_face_masks-1.0.0/examples/testImages"
CV = "opencv_python-5.0.0.93/opencv/samples/data"
CVJ = "opencv_python-5.0.0.93/opencv/samples/java/sbt/src/main/resources"

# Copied as they are (set name -> path under WORK/x). RGBA and 16-bit images are flattened on white.
FACES = {
    "fr_obama.jpg": f"{FR}/obama.jpg",
    "fr_obama2.jpg": f"{FR}/obama2.jpg",
    "fr_obama3.jpg": f"{FR}/obama3.jpg",  # standing in a room: a small face in a tall photo
    "fr_biden.jpg": f"{FR}/biden.jpg",
    "fr_obama_partial_face.jpg": f"{FR}/obama_partial_face.jpg",  # cut by the frame's edge
    "fr_obama_partial_face2.jpg": f"{FR}/obama_partial_face2.jpg",
    "fx_test.jpg": f"{FX}/test.jpg",
    "fx_test2.jpg": f"{FX}/test2.jpg",
    "scrfd_solvay_conference_1927.jpg": f"{SCRFD}/solvay_conference_1927.jpg",  # 29 small faces
    "scrfd_gauss.png": f"{SCRFD}/gauss.png",  # painted portrait
    "scrfd_newton.png": f"{SCRFD}/newton.png",  # painted portrait, turned
    "y5f_crowd.jpg": f"{Y5F}/data/images/test.jpg",  # a crowd: hundreds of tiny faces, 3 large
    "y5f_zidane.jpg": f"{Y5F}/data/images/zidane.jpg",  # one face in profile, one turned
    "y5f_bus.jpg": f"{Y5F}/data/images/bus.jpg",  # people walking, small faces
    "y5f_kids.jpg": f"{Y5F}/torch2trt/sample.jpg",  # a group of 9 children, several turned
    "resr_00017_gray.png": f"{RESR}/00017_gray.png",  # two people, old grey photograph
    "resr_children.png": f"{RESR}/children-alpha.png",  # 5 children, transparent background
    "cv_lena.jpg": f"{CV}/lena.jpg",  # turned, in a hat
    "cv_messi5.jpg": f"{CV}/messi5.jpg",  # a footballer, small face looking down
    "cv_basketball1.png": f"{CV}/basketball1.png",  # two people, one seen from the side
    "cv_AverageMaleFace.jpg": f"{CVJ}/AverageMaleFace.jpg",  # a composite (averaged) face
}
FACES.update(
    {f"sfm_im_000{i}.jpg": f"{SFM}/im{i}/im_000{i}.jpg" for i in range(1, 8)}  # StyleGAN2 faces
)

NOFACES = {
    f"cv_{n}": f"{CV}/{n}"
    for n in [
        "aero1.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "board.jpg", "box_in_scene.png",
        "building.jpg", "butterfly.jpg", "castle.jpg", "chicky_512.png", "ela_original.jpg",
        "fruits.jpg", "gauge-1.jpg", "home.jpg", "leuvenA.jpg", "licenseplate_motion.jpg",
        "mcc_ccm_test.jpg", "orange.jpg", "rubberwhale1.png", "smarties.png", "squirrel_cls.jpg",
        "starry_night.jpg", "stuff.jpg",
        # Hard negatives (2026-12-08): faces that are not people's, and a grid.
        "graf1.png", "graf3.png",  # graffiti: cartoon figures with faces
        "Blender_Suzanne1.jpg", "Blender_Suzanne2.jpg",  # a rendered cartoon monkey head
        "HappyFish.jpg",  # a drawn fish with an eye and a smile
        "sudoku.png",  # a printed sudoku grid
    ]
}
NOFACES.update(
    {
        "resr_00003.png": f"{RESR}/00003.png",  # branches against the sky
        "resr_ADE_val_00000114.jpg": f"{RESR}/ADE_val_00000114.jpg",  # a beach
        "resr_OST_009.png": f"{RESR}/OST_009.png",  # a building
        "resr_tree.png": f"{RESR}/tree_alpha_16bit.png",
        "resr_wolf_gray.jpg": f"{RESR}/wolf_gray.jpg",
    }
)

# Eye and mouth-corner positions (x, y) of one face per photo, read off the images, where a
# surgical-style mask is drawn: left eye, right eye, left mouth corner, right mouth corner.
MASK_ON = {
    "fr_obama.jpg": ((444, 214), (547, 212), (437, 319), (552, 317)),
    "fr_biden.jpg": ((534, 319), (653, 343), (518, 460), (625, 478)),
    "fx_test2.jpg": ((203, 209), (312, 223), (194, 352), (287, 365)),
    "fx_test.jpg": ((147, 123), (203, 114), (160, 186), (210, 177)),
    "cv_AverageMaleFace.jpg": ((105, 151), (185, 150), (114, 237), (179, 238)),
    "astronaut.png": ((203, 101), (246, 103), (201, 139), (244, 141)),
    "grace_hopper.jpg": ((220, 192), (309, 185), (232, 278), (305, 274)),
    "sfm_im_0001.jpg": ((190, 240), (320, 239), (186, 363), (320, 363)),
    "sfm_im_0002.jpg": ((192, 239), (321, 239), (199, 383), (316, 385)),
    "sfm_im_0003.jpg": ((192, 236), (326, 241), (195, 376), (313, 383)),
    "sfm_im_0004.jpg": ((191, 237), (321, 238), (201, 377), (307, 376)),
    "sfm_im_0005.jpg": ((190, 239), (321, 239), (199, 374), (314, 375)),
    "sfm_im_0006.jpg": ((190, 239), (320, 241), (188, 368), (319, 369)),
    "sfm_im_0007.jpg": ((192, 240), (322, 242), (196, 369), (314, 371)),
}
MASK_COLOURS = [(168, 200, 228), (236, 236, 232), (34, 34, 40), (128, 182, 166), (214, 170, 190)]

GREY = (110, 110, 110)


def load(path: Path) -> Image.Image:
    img = Image.open(path)
    if img.mode in ("I;16", "I;16B", "I"):
        img = img.point(lambda v: v / 256).convert("L")
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        flat = Image.new("RGB", img.size, (255, 255, 255))
        flat.paste(img, mask=img.getchannel("A"))
        return flat
    return img.convert("L" if img.mode == "L" else "RGB")


def save(img: Image.Image, path: Path) -> None:
    if path.suffix == ".jpg":
        img.convert("RGB" if img.mode not in ("L", "RGB") else img.mode).save(path, quality=90)
    else:
        img.save(path)


def fit(img: Image.Image, w: int, h: int, fill=GREY) -> Image.Image:
    """Scales img (up or down) to fit w×h and centres it on a plain canvas."""
    s = min(w / img.width, h / img.height)
    small = img.convert("RGB").resize((round(img.width * s), round(img.height * s)), Image.LANCZOS)
    canvas = Image.new("RGB", (w, h), fill)
    canvas.paste(small, ((w - small.width) // 2, (h - small.height) // 2))
    return canvas


def cover(img: Image.Image, w: int, h: int) -> Image.Image:
    """Scales img to cover w×h and crops the middle."""
    s = max(w / img.width, h / img.height)
    size = (math.ceil(img.width * s), math.ceil(img.height * s))
    big = img.convert("RGB").resize(size, Image.LANCZOS)
    x, y = (big.width - w) // 2, (big.height - h) // 2
    return big.crop((x, y, x + w, y + h))


def place(img: Image.Image, scene: Image.Image, w: int, h: int, at: tuple) -> Image.Image:
    """Puts img at its own size on a scene (a photo with no face) enlarged to w×h."""
    canvas = cover(scene, w, h)
    canvas.paste(img.convert("RGB"), at)
    return canvas


def draw_mask(img: Image.Image, eyes_mouth, colour) -> Image.Image:
    """Draws a pleated mask with ear loops over the nose, mouth and chin."""
    (lx, ly), (rx, ry), (mlx, mly), (mrx, mry) = eyes_mouth
    img = img.convert("RGB").copy()
    ex, ey = (lx + rx) / 2, (ly + ry) / 2
    mx, my = (mlx + mrx) / 2, (mly + mry) / 2
    eye_dist = math.hypot(rx - lx, ry - ly)
    ux, uy = (rx - lx) / eye_dist, (ry - ly) / eye_dist  # across the face
    vx, vy = mx - ex, my - ey  # eyes to mouth

    def pt(a: float, b: float) -> tuple:
        return (ex + a * eye_dist * ux + b * vx, ey + a * eye_dist * uy + b * vy)

    outline = [pt(-0.95, 0.42), pt(-0.35, 0.30), pt(0.0, 0.28), pt(0.35, 0.30), pt(0.95, 0.42),
               pt(1.02, 1.05), pt(0.70, 1.55), pt(0.0, 1.78), pt(-0.70, 1.55), pt(-1.02, 1.05)]
    d = ImageDraw.Draw(img)
    shade = tuple(max(0, c - 45) for c in colour)
    width = max(1, round(eye_dist / 40))
    d.line([pt(-0.95, 0.46), pt(-1.35, 0.25)], fill=shade, width=width)
    d.line([pt(0.95, 0.46), pt(1.35, 0.25)], fill=shade, width=width)
    d.line([pt(-1.0, 1.2), pt(-1.35, 0.55)], fill=shade, width=width)
    d.line([pt(1.0, 1.2), pt(1.35, 0.55)], fill=shade, width=width)
    d.polygon(outline, fill=colour, outline=shade)
    for b in (0.70, 0.95, 1.20):
        d.line([pt(-0.92, b), pt(0.92, b)], fill=shade, width=width)
    return img.filter(ImageFilter.SMOOTH)


def main() -> None:
    face, noface = SET / "face", SET / "noface"
    for name, rel in FACES.items():
        save(load(X / rel), face / name)
    for name, rel in NOFACES.items():
        save(load(X / rel), noface / name)

    def src(name: str) -> Image.Image:
        """An image of the set, by its set name."""
        for d in (face, noface):
            if (d / name).exists():
                return load(d / name)
        raise FileNotFoundError(name)

    # Masked faces: a mask drawn over a real (or StyleGAN2) face.
    for i, (name, points) in enumerate(MASK_ON.items()):
        masked = draw_mask(src(name), points, MASK_COLOURS[i % len(MASK_COLOURS)])
        save(masked, face / f"masked_{Path(name).stem}.jpg")

    # Profile and turned faces: Zidane alone (in profile), two faces tilted in the frame.
    save(src("y5f_zidane.jpg").crop((0, 0, 820, 720)), face / "turned_zidane_profile.jpg")
    save(src("sfm_im_0002.jpg").rotate(30, Image.BICUBIC, expand=True, fillcolor=GREY),
         face / "turned_sfm_im_0002_tilt30.jpg")
    save(src("fx_test2.jpg").rotate(-35, Image.BICUBIC, expand=True, fillcolor=GREY),
         face / "turned_fx_test2_tilt-35.jpg")

    # Faces at 1080p and 4K: portraits enlarged, groups enlarged (small faces relative to the
    # frame), face photos at their own size on a 4K scene.
    hd, uhd = (1920, 1080), (3840, 2160)
    for name, size, out in [
        ("astronaut.png", hd, "hd_astronaut.jpg"),
        ("astronaut.png", uhd, "uhd_astronaut.jpg"),
        ("grace_hopper.jpg", hd, "hd_grace_hopper.jpg"),
        ("fr_obama.jpg", uhd, "uhd_obama.jpg"),
        ("fr_obama3.jpg", hd, "hd_obama3.jpg"),
        ("fr_biden.jpg", uhd, "uhd_biden.jpg"),
        ("t1.jpg", hd, "hd_t1.jpg"),
        ("y5f_zidane.jpg", hd, "hd_zidane.jpg"),
        ("y5f_bus.jpg", hd, "hd_bus.jpg"),  # kept at its own size: small faces in a 1080p frame
        ("y5f_kids.jpg", uhd, "uhd_kids.jpg"),
        ("y5f_crowd.jpg", uhd, "uhd_crowd.jpg"),
        ("scrfd_solvay_conference_1927.jpg", hd, "hd_solvay.jpg"),
        ("scrfd_solvay_conference_1927.jpg", uhd, "uhd_solvay.jpg"),
        ("masked_fr_obama.jpg", hd, "hd_masked_fr_obama.jpg"),
    ]:
        save(fit(src(name), *size), face / out)
    save(place(src("t1.jpg"), src("cv_leuvenA.jpg"), *uhd, (1280, 640)), face / "uhd_t1_small.jpg")
    save(place(src("grace_hopper.jpg"), src("cv_castle.jpg"), *uhd, (2900, 1300)),
         face / "uhd_grace_hopper_small.jpg")
    save(place(src("masked_grace_hopper.jpg"), src("cv_leuvenA.jpg"), *uhd, (600, 1200)),
         face / "uhd_masked_grace_hopper_small.jpg")
    save(fit(src("masked_sfm_im_0004.jpg"), *uhd), face / "uhd_masked_sfm_im_0004.jpg")
    save(place(src("Tom_Hanks_54745.png"), src("cv_home.jpg"), *hd, (1300, 700)),
         face / "hd_tom_hanks_small.jpg")

    # No face at 1080p and 4K.
    for name, size, out in [
        ("cv_castle.jpg", hd, "hd_castle.jpg"),
        ("cv_fruits.jpg", hd, "hd_fruits.jpg"),
        ("cv_chicky_512.png", hd, "hd_chicky.jpg"),
        ("cv_leuvenA.jpg", uhd, "uhd_leuvenA.jpg"),
        ("cv_aero1.jpg", uhd, "uhd_aero1.jpg"),
        ("cv_baboon.jpg", uhd, "uhd_baboon.jpg"),
        ("cv_squirrel_cls.jpg", uhd, "uhd_squirrel.jpg"),
    ]:
        save(cover(src(name), *size), noface / out)
    save(fit(src("mask_blue.jpg"), *hd), noface / "hd_mask_blue.jpg")  # a mask alone, no face
    save(fit(src("mask_white.jpg"), *uhd), noface / "uhd_mask_white.jpg")

    # The bench: real photographs with and without people, 1920×1080 (a few 4000×3000).
    # People are fitted whole (grey bars where the aspect differs); scenes are cropped to fill.
    people = {
        "astronaut": "astronaut.png", "grace-hopper": "grace_hopper.jpg", "obama": "fr_obama.jpg",
        "biden": "fr_biden.jpg", "zidane": "y5f_zidane.jpg", "bus": "y5f_bus.jpg",
        "kids": "y5f_kids.jpg", "group": "t1.jpg", "messi": "cv_messi5.jpg",
        "couple": "resr_00017_gray.png", "children": "resr_children.png", "lena": "cv_lena.jpg",
    }
    none = {
        "castle": "cv_castle.jpg", "building": "cv_building.jpg", "home": "cv_home.jpg",
        "street": "cv_leuvenA.jpg", "fruits": "cv_fruits.jpg", "squirrel": "cv_squirrel_cls.jpg",
        "dog": "cv_chicky_512.png", "baboon": "cv_baboon.jpg", "butterfly": "cv_butterfly.jpg",
        "tower": "resr_OST_009.png", "coffee": "coffee.png", "cat": "chelsea.png",
        "rocket": "rocket.jpg", "motorcycle": "motorcycle_left.png",
    }
    for tag, name in people.items():
        save(fit(src(name), *hd), BENCH / f"people-{tag}-1920x1080.jpg")
    for tag, name in none.items():
        save(cover(src(name), *hd), BENCH / f"none-{tag}-1920x1080.jpg")
    big = (4000, 3000)
    save(fit(src("scrfd_solvay_conference_1927.jpg"), *big), BENCH / "people-solvay-4000x3000.jpg")
    save(fit(src("y5f_crowd.jpg"), *big), BENCH / "people-crowd-4000x3000.jpg")
    save(cover(src("cv_aero1.jpg"), *big), BENCH / "none-aerial-4000x3000.jpg")
    save(cover(src("cv_leuvenA.jpg"), *big), BENCH / "none-street-4000x3000.jpg")

    counts = {d: len(list((SET / d).iterdir())) for d in ("face", "noface")}
    print(f"set: {counts['face']} face, {counts['noface']} noface (+ 100 + 100 LFW crops); "
          f"bench: {len(list(BENCH.iterdir()))} photographs in {BENCH}")


if __name__ == "__main__":
    main()
