#!/usr/bin/env bash
# Seed corpus of the fuzz targets, generated from the test media: the photos of tests/fixtures
# scaled down, and small files made by ffmpeg with the generators of tests/support/corpus.rs
# (testsrc video, sine audio, in each container and codec the corpus uses), plus the documents
# of that corpus. The text targets' seeds are committed, tiny, in fuzz/seeds/.
#
#   scripts/fuzz-seeds.sh OUT_DIR     → OUT_DIR/<target>/… for every fuzz target
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: scripts/fuzz-seeds.sh OUT_DIR}"
command -v ffmpeg >/dev/null || { echo "fuzz-seeds: ffmpeg is needed (apt-get install ffmpeg)" >&2; exit 1; }

img="$out/probe_image" vid="$out/probe_video" aud="$out/probe_audio" doc="$out/probe_document"
mkdir -p "$img" "$vid" "$aud" "$doc" "$out/sniff"
ff() { ffmpeg -v error -y "$@"; }

# Images: each fixture photo at 40 px wide, in every format sniffing knows and ffmpeg writes.
for photo in tests/fixtures/photos/*; do
    base="$(basename "${photo%.*}")"
    for ext in png jpg webp gif bmp tiff; do
        ff -i "$photo" -vf scale=40:-2 -frames:v 1 "$img/$base.$ext"
    done
done
# A 16-bit PNG and one with alpha (the decoders' other paths).
ff -f lavfi -i testsrc=size=32x24 -frames:v 1 -pix_fmt rgb48be "$img/testsrc-16bit.png"
ff -f lavfi -i testsrc=size=32x24 -frames:v 1 -pix_fmt rgba "$img/testsrc-rgba.png"
ff -f lavfi -i testsrc=size=32x24 -frames:v 1 -q:v 30 "$img/testsrc.jpg"
cp tests/fixtures/gradient-400x320.heic "$img/"

# Video: one short clip per container and codec of the test corpus, tiny.
clip() { # out, extra args…
    local name="$1"; shift
    ff -f lavfi -i testsrc=size=64x48:rate=24 "$@" -t 1 "$vid/$name"
}
clip h264.mp4 -c:v libx264 -preset ultrafast -pix_fmt yuv420p
clip h264-faststart.mp4 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -movflags +faststart
clip h264-aac.mp4 -f lavfi -i sine=frequency=440:duration=1 -c:a aac -c:v libx264 -preset ultrafast -pix_fmt yuv420p
clip fragmented.mp4 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -movflags +frag_keyframe+empty_moov
clip mpeg4.mov -c:v mpeg4
clip vp8.webm -c:v libvpx -deadline realtime -cpu-used 8
clip mpeg4.mkv -c:v mpeg4
clip mpeg4.avi -c:v mpeg4
ff -f lavfi -i sine=frequency=440:duration=1 -c:a aac "$vid/audio-only.mp4"
head -c 2000 "$vid/h264.mp4" >"$vid/truncated.mp4"

# Audio: each codec of the corpus, half a second.
tone() { # out, extra args…
    local name="$1"; shift
    ff -f lavfi -i sine=frequency=440:duration=0.5 -ar 8000 "$@" "$aud/$name"
}
tone pcm.wav -c:a pcm_s16le
tone pcm-stereo.wav -ac 2 -c:a pcm_s16le
tone cbr.mp3 -c:a libmp3lame -b:a 32k
tone no-xing.mp3 -c:a libmp3lame -b:a 32k -write_xing 0
tone no-id3.mp3 -c:a libmp3lame -write_id3v1 0 -id3v2_version 0
tone lossless.flac -c:a flac
tone vorbis.ogg -c:a libvorbis
ff -f lavfi -i sine=frequency=440:duration=0.5 -c:a libopus "$aud/speech.opus"
ff -f lavfi -i sine=frequency=440:duration=0.5 -c:a aac "$aud/aac.m4a"

# Documents: the corpus's documents.
printf '%%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\nxref\n0 3\ntrailer << /Root 1 0 R /Size 3 >>\nstartxref\n9\n%%%%EOF\n' >"$doc/doc.pdf"
printf '%%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Co' >"$doc/truncated.pdf"
printf 'Notes for the shoot.\nScene 1: a cat on a windowsill.\n' >"$doc/notes.txt"
printf 'name,value\nalpha,1\nbeta,2\n' >"$doc/table.csv"
printf '{"prompt": "a cat", "tags": ["x", "y"], "n": 1.5e3, "ok": true, "none": null}\n' >"$doc/data.json"
printf '{"prompt": "a cat", "tags": ["x", "y"' >"$doc/broken.json"
printf '<!DOCTYPE html><html><body>hello</body></html>' >"$doc/page.html"
printf '<?xml version="1.0"?><note>hi</note>' >"$doc/note.xml"
printf 'caf\xe9 au lait, late latin-1\n' >"$doc/latin1.txt"
python3 - "$doc" <<'EOF'
import sys, zipfile
out = sys.argv[1]
types = '''<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/{part}" ContentType="{ct}"/>
</Types>'''
office = {
    "doc.docx": ("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
    "sheet.xlsx": ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
    "slides.pptx": ("ppt/presentation.xml", "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"),
}
for name, (part, ct) in office.items():
    with zipfile.ZipFile(f"{out}/{name}", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", types.format(part=part, ct=ct))
        z.writestr("_rels/.rels", "<Relationships/>")
        z.writestr(part, "<document/>")
with zipfile.ZipFile(f"{out}/plain.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("hello.txt", "hello")
EOF

# Sniffing sees every family.
cp "$img"/* "$vid"/* "$aud"/* "$doc"/* "$out/sniff/"

# The text targets: committed seeds.
for target in range reference body_kyy body_v1 task_scan; do
    mkdir -p "$out/$target"
    cp fuzz/seeds/"$target"/* "$out/$target/"
done
echo "fuzz-seeds: $(find "$out" -type f | wc -l) seeds, $(du -sh "$out" | cut -f1), in $out"
