// A zoomable, pannable picture for the review page: the image and its face boxes sit in one
// layer the size of the image's own pixels, moved and scaled by a single transform, so the boxes
// follow every zoom. Wheel zooms at the pointer, one finger or the mouse drags, two fingers
// pinch (pointer events), double-click zooms in; `+`, `-` and `0` from the page's keys.
"use strict";

class Viewer {
  constructor(viewport, layer, image, level) {
    Object.assign(this, { viewport, layer, image, level });
    this.scale = 1;
    this.x = 0;
    this.y = 0;
    this.pointers = new Map();
    this.pinch = null;
    image.addEventListener("load", () => this.fit());
    viewport.addEventListener("wheel", (e) => {
      e.preventDefault();
      const at = this.local(e);
      this.zoomAt(Math.exp(-e.deltaY * 0.0015), at.x, at.y);
    }, { passive: false });
    viewport.addEventListener("dblclick", (e) => {
      const at = this.local(e);
      this.zoomAt(2, at.x, at.y);
    });
    viewport.addEventListener("pointerdown", (e) => {
      try { viewport.setPointerCapture(e.pointerId); } catch { /* a pointer the page did not see start */ }
      this.pointers.set(e.pointerId, this.local(e));
      this.pinch = null;
    });
    viewport.addEventListener("pointermove", (e) => {
      const before = this.pointers.get(e.pointerId);
      if (!before) return;
      const now = this.local(e);
      this.pointers.set(e.pointerId, now);
      if (this.pointers.size === 1) {
        this.panBy(now.x - before.x, now.y - before.y);
      } else if (this.pointers.size === 2) {
        const [a, b] = [...this.pointers.values()];
        const spread = Math.hypot(a.x - b.x, a.y - b.y);
        const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
        if (this.pinch) {
          this.panBy(mid.x - this.pinch.mid.x, mid.y - this.pinch.mid.y);
          this.zoomAt(spread / this.pinch.spread, mid.x, mid.y);
        }
        this.pinch = { spread: Math.max(spread, 1), mid };
      }
    });
    const lift = (e) => {
      this.pointers.delete(e.pointerId);
      this.pinch = null;
    };
    viewport.addEventListener("pointerup", lift);
    viewport.addEventListener("pointercancel", lift);
    viewport.addEventListener("keydown", (e) => {
      const step = 60;
      const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (moves[e.key]) {
        e.preventDefault();
        this.panBy(...moves[e.key]);
      }
    });
    new ResizeObserver(() => { if (this.fitted) this.fit(); }).observe(viewport);
  }

  /// The image's own size in pixels (what the layer measures).
  get natural() {
    return { w: this.image.naturalWidth || 1, h: this.image.naturalHeight || 1 };
  }

  local(e) {
    const r = this.viewport.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  fitScale() {
    const { w, h } = this.natural;
    return Math.min(this.viewport.clientWidth / w, this.viewport.clientHeight / h) || 1;
  }

  /// The whole image in view, centred.
  fit() {
    const { w, h } = this.natural;
    this.layer.style.width = `${w}px`;
    this.layer.style.height = `${h}px`;
    this.scale = this.fitScale();
    this.x = (this.viewport.clientWidth - w * this.scale) / 2;
    this.y = (this.viewport.clientHeight - h * this.scale) / 2;
    this.fitted = true;
    this.apply();
  }

  /// Zooms by `factor` keeping the viewport point (cx, cy) where it is; from a half of the fit
  /// up to 8 screen pixels per image pixel.
  zoomAt(factor, cx, cy) {
    const min = this.fitScale() / 2;
    const max = Math.max(8, this.fitScale());
    const scale = Math.min(max, Math.max(min, this.scale * factor));
    const k = scale / this.scale;
    this.x = cx - (cx - this.x) * k;
    this.y = cy - (cy - this.y) * k;
    this.scale = scale;
    this.fitted = false;
    this.apply();
  }

  zoomCentre(factor) {
    this.zoomAt(factor, this.viewport.clientWidth / 2, this.viewport.clientHeight / 2);
  }

  panBy(dx, dy) {
    this.x += dx;
    this.y += dy;
    this.fitted = false;
    this.apply();
  }

  /// Centres a rectangle of the image (its own pixels) and zooms until it fills about half of
  /// the viewport.
  zoomTo(x, y, w, h) {
    const vw = this.viewport.clientWidth;
    const vh = this.viewport.clientHeight;
    this.scale = Math.min(Math.max(8, this.fitScale()), Math.min(vw / (w * 2), vh / (h * 2)));
    this.x = vw / 2 - (x + w / 2) * this.scale;
    this.y = vh / 2 - (y + h / 2) * this.scale;
    this.fitted = false;
    this.apply();
  }

  apply() {
    this.layer.style.transform = `translate(${this.x}px, ${this.y}px) scale(${this.scale})`;
    // Box borders keep their width on screen whatever the zoom.
    this.layer.style.setProperty("--unscale", String(1 / this.scale));
    this.level.textContent = this.fitted ? "fit" : `${Math.round(this.scale * 100)} %`;
  }
}
