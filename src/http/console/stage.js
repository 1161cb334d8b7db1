// The review stage: the held image at full resolution (the original, which a reviewer may read)
// in the zoomable viewer, its face boxes in the image's own coordinates, and a strip of the
// faces cut from the full image at its own pixels, each with its score (click: zoom there). A
// video shows each checked frame in the same viewer, chosen from a strip of frames.
"use strict";

const viewer = new Viewer($("review-viewport"), $("review-layer"), $("review-image"), $("zoom-level"));
const stage = { item: null, frame: 0 };

$("zoom-in").addEventListener("click", () => viewer.zoomCentre(1.5));
$("zoom-out").addEventListener("click", () => viewer.zoomCentre(1 / 1.5));
$("zoom-fit").addEventListener("click", () => viewer.fit());

function facesOn(item, frame) {
  return item.faces.filter((f) => (f.frame ?? 0) === frame);
}

function clearStage() {
  stage.item = null;
  $("review-image").removeAttribute("src");
  $("review-boxes").replaceChildren();
  $("review-crops").replaceChildren();
  $("review-frames").replaceChildren();
}

function showStage(item, index, total) {
  stage.item = item;
  stage.frame = 0;
  const name = item.name || item.assetId;
  $("review-caption").textContent = `${index + 1} of ${total}: ${name} — tenant ${item.tenant}`;
  const facts = $("review-facts");
  facts.replaceChildren();
  fact(facts, "Asset", item.assetId);
  fact(facts, "Tenant", item.tenant);
  fact(facts, "Type", item.assetType);
  if (item.width) fact(facts, "Dimensions", `${item.width} × ${item.height}`);
  fact(facts, "Faces", item.faces.length);
  fact(facts, "Note", item.note);
  fact(facts, "Uploaded", when(item.createTime));
  if (item.waitingSeconds !== undefined) fact(facts, "Waiting", waited(item.waitingSeconds));
  if (item.reopened) fact(facts, "Reopened", "a decision on it was undone");
  const strip = $("review-frames");
  const frames = item.frameUrls || [];
  strip.replaceChildren(...frames.map((url, n) => el("button", {
    type: "button", class: "frame-pick", "data-frame": n, "aria-pressed": n === 0 ? "true" : "false",
    onclick: () => showFrame(n),
  }, el("img", { src: url, alt: "", loading: "lazy" }),
  el("span", { text: `Frame ${n + 1}${frameTime(item, n)}: ${facesOn(item, n).length} face(s)` }))));
  strip.hidden = frames.length === 0;
  showFrame(0);
}

/// " at 1.0 s" when the server says when frame `n` is ("" otherwise).
function frameTime(item, n) {
  const t = (item.frameTimes || [])[n];
  return typeof t === "number" ? ` at ${t.toFixed(1)} s` : "";
}

/// Shows frame `n` (0 for an image) in the viewer, with its boxes and its crops.
function showFrame(n) {
  const item = stage.item;
  if (!item) return;
  stage.frame = n;
  for (const b of $("review-frames").children) b.setAttribute("aria-pressed", String(Number(b.dataset.frame) === n));
  const image = $("review-image");
  const name = item.name || item.assetId;
  const video = item.assetType === "Video";
  image.alt = video ? `Frame ${n + 1} of ${name}` : `${name}, held for review`;
  // The original of an image; of a video, the checked frame.
  const full = item.contentUrl || `/v1/assets/${encodeURIComponent(item.assetId)}/content`;
  const src = video ? (item.fullFrameUrls || [])[n] || (item.frameUrls || [])[n] || item.previewUrl : full;
  image.onerror = () => {
    // The original may be refused (an older server): the preview still shows the boxes.
    if (image.getAttribute("src") !== item.previewUrl && !video) image.src = item.previewUrl;
    // A video held before full-size frames were kept: its preview-size frame.
    const small = (item.frameUrls || [])[n];
    if (video && small && image.getAttribute("src") !== small) image.src = small;
  };
  image.onload = () => drawCrops(item, n);
  image.src = src;
  drawBoxes(item, n);
}

/// The boxes, in percent of the image the detector measured: the layer scales them with it.
function drawBoxes(item, frame) {
  const w = item.imageWidth || 1;
  const h = item.imageHeight || 1;
  const container = $("review-boxes");
  container.replaceChildren(...facesOn(item, frame).map((face, i) => {
    const box = el("div", {
      class: "face-box", title: `Face ${i + 1}: score ${face.score.toFixed(3)}`,
      "data-x": face.x, "data-y": face.y, "data-width": face.width, "data-height": face.height,
    }, el("span", { class: "face-label", text: String(i + 1) }));
    box.style.left = `${(face.x / w) * 100}%`;
    box.style.top = `${(face.y / h) * 100}%`;
    box.style.width = `${(face.width / w) * 100}%`;
    box.style.height = `${(face.height / h) * 100}%`;
    return box;
  }));
}

/// One canvas per face, cut from the image shown (the original) at its own pixels with a
/// margin around the box; a click zooms the viewer onto that face.
function drawCrops(item, frame) {
  const image = $("review-image");
  const sx = image.naturalWidth / (item.imageWidth || image.naturalWidth || 1);
  const sy = image.naturalHeight / (item.imageHeight || image.naturalHeight || 1);
  $("review-crops").replaceChildren(...facesOn(item, frame).map((face, i) => {
    const x = face.x * sx;
    const y = face.y * sy;
    const w = face.width * sx;
    const h = face.height * sy;
    const mx = w * 0.2;
    const my = h * 0.2;
    const left = Math.max(0, Math.floor(x - mx));
    const top = Math.max(0, Math.floor(y - my));
    const cw = Math.max(1, Math.min(image.naturalWidth - left, Math.ceil(w + 2 * mx)));
    const ch = Math.max(1, Math.min(image.naturalHeight - top, Math.ceil(h + 2 * my)));
    const canvas = el("canvas", { width: String(cw), height: String(ch), "data-source-width": String(cw) });
    const ctx = canvas.getContext("2d");
    if (ctx) ctx.drawImage(image, left, top, cw, ch, 0, 0, cw, ch);
    return el("li", {}, el("button", {
      type: "button", class: "crop", "data-face": i, title: `${cw} × ${ch} pixels of the original`,
      onclick: () => { viewer.zoomTo(x, y, w, h); $("review-viewport").focus({ preventScroll: true }); },
    }, canvas, el("span", { text: `Face ${i + 1} · ${face.score.toFixed(2)}` }),
    el("span", { class: "visually-hidden", text: ": zoom there" })));
  }));
}
