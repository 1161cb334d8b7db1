#!/usr/bin/env bash
# Screenshots of the web console's pages for README (docs/console/*.png): runs the browser test
# with ASSETLIB_CONSOLE_SCREENSHOTS set. Needs Chromium and chromedriver (Debian: apt-get install
# chromium chromium-driver). The PNGs are shrunk with Pillow when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/console}"
mkdir -p "$out"
ASSETLIB_REQUIRE_BROWSER=1 ASSETLIB_CONSOLE_SCREENSHOTS="$(pwd)/$out" \
  cargo test --test e2e -- --exact \
  console::the_console_signs_in_uploads_reviews_and_manages_keys \
  console_library::the_library_renames_files_in_groups_restores_and_switches_tenant \
  console_display::the_console_shows_what_applies_in_view_and_accessibly_at_desktop_and_phone_sizes \
  console_review::a_reviewer_zooms_into_the_original_decides_a_selection_undoes_it_and_reads_the_history
if python3 -c 'import PIL' 2>/dev/null; then
  python3 - "$out" <<'PY'
import sys, pathlib
from PIL import Image
for path in pathlib.Path(sys.argv[1]).glob("*.png"):
    img = Image.open(path).convert("RGB")
    img = img.resize((img.width * 3 // 4, img.height * 3 // 4), Image.LANCZOS)
    img = img.quantize(colors=96)
    img.save(path, optimize=True)
PY
fi
ls -l "$out"
