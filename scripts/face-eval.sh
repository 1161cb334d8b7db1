#!/usr/bin/env bash
# Builds the labelled face set of docs/MODERATION.md from images shipped in PyPI packages and
# runs the detector over it: recall on faces, false holds on non-faces, time per image.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-${TMPDIR:-/tmp}/assetlib-face-eval}"
mkdir -p "$work/pkgs" "$work/x" "$work/set/face" "$work/set/noface"

pip download --quiet --no-deps --only-binary :all: -d "$work/pkgs" scikit-image==0.26.0 matplotlib==3.11.2
pip download --quiet --no-deps -d "$work/pkgs" insightface==0.7.3  # an sdist: only its images are used

( cd "$work/x"
  unzip -q -o "$work"/pkgs/scikit_image-*.whl 'skimage/data/*'
  unzip -q -o "$work"/pkgs/matplotlib-*.whl 'matplotlib/mpl-data/sample_data/*'
  tar xzf "$work"/pkgs/insightface-0.7.3.tar.gz --wildcards '*/data/images/*' )

d="$work/x/skimage/data"
cp "$d/astronaut.png" "$d/camera.png" "$work/x/matplotlib/mpl-data/sample_data/grace_hopper.jpg" \
   "$work"/x/insightface-0.7.3/insightface/data/images/*.{png,jpg} "$work/set/face/"
for f in brick cell chelsea chessboard_GRAY chessboard_RGB clock_motion coffee coins color grass \
         gravel horse ihc logo microaneurysms moon motorcycle_left motorcycle_right page phantom text; do
    cp "$d/$f.png" "$work/set/noface/"
done
cp "$d/hubble_deep_field.jpg" "$d/retina.jpg" "$d/rocket.jpg" \
   "$work/x/matplotlib/mpl-data/sample_data/Minduka_Present_Blue_Pack.png" \
   "$work/x/matplotlib/mpl-data/sample_data/logo2.png" "$work/set/noface/"

cargo run --release --example face_eval -- "$work/set" "$d/lfw_subset.npy"
