// gankit lab: drawing the views and the charts on canvases (lab.js fetches the frames). Written for this package.
// Uses lab.js's $ and frame at call time: both scripts share the page's global scope.
"use strict";

// ---- drawing ---------------------------------------------------------------------------------
function decode(b64) {
  const s = atob(b64), out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function colour(v) {  // 0: purple (D says G), 0.5: white, 1: green (D says data)
  const t = v / 255;
  if (t < 0.5) { const a = t * 2; return [118 + a * 137, 42 + a * 213, 131 + a * 124]; }
  const a = (t - 0.5) * 2;
  return [255 - a * 228, 255 - a * 135, 255 - a * 200];
}

function heat(ctx, bytes, n, w, h) {
  const img = new ImageData(n, n);
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) {
      const c = colour(bytes[row * n + col]), p = ((n - 1 - row) * n + col) * 4;  // row 0 is the lowest y
      img.data[p] = c[0]; img.data[p + 1] = c[1]; img.data[p + 2] = c[2]; img.data[p + 3] = 255;
    }
  }
  const off = document.createElement("canvas");
  off.width = n; off.height = n;
  off.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, w, h);
}

function to2d(f, w, h) {
  return (p) => [(p[0] - f.lo[0]) / (f.hi[0] - f.lo[0]) * w, h - (p[1] - f.lo[1]) / (f.hi[1] - f.lo[1]) * h];
}

function dots(ctx, pts, xy, fill, r) {
  ctx.fillStyle = fill;
  for (const p of pts) { const [x, y] = xy(p); ctx.beginPath(); ctx.arc(x, y, r, 0, 7); ctx.fill(); }
}

function draw2d(canvas, f, map, small) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height, xy = to2d(f, w, h);
  ctx.clearRect(0, 0, w, h);
  if (small || $("show-heat").checked) heat(ctx, decode(map), f.grid, w, h);
  if ($("show-real").checked) dots(ctx, f.real, xy, "rgba(27,120,55,0.55)", small ? 1.2 : 2);
  if ($("show-fake").checked) dots(ctx, f.fake, xy, "rgba(217,95,2,0.75)", small ? 1.2 : 2);
  if (small) return;
  if ($("show-manifold").checked && f.manifold_shape.length === 2) {
    const n = f.manifold_shape[0];
    ctx.strokeStyle = "rgba(40,40,40,0.45)"; ctx.lineWidth = 1;
    for (let line = 0; line < 2 * n; line++) {
      ctx.beginPath();
      for (let j = 0; j < n; j++) {
        const idx = line < n ? line * n + j : j * n + (line - n), [x, y] = xy(f.manifold[idx]);
        if (j) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      }
      ctx.stroke();
    }
  }
  if ($("show-arrows").checked) {
    let longest = 1e-12;
    for (const a of f.arrows) longest = Math.max(longest, Math.hypot(a[0], a[1]));
    const scale = 0.06 * Math.min(f.hi[0] - f.lo[0], f.hi[1] - f.lo[1]) / longest;
    ctx.strokeStyle = "rgba(60,60,60,0.6)"; ctx.lineWidth = 1;
    f.fake.forEach((p, i) => {
      if (i % 2) return;  // every other sample: arrows stay readable
      const [x0, y0] = xy(p), [x1, y1] = xy([p[0] + f.arrows[i][0] * scale, p[1] + f.arrows[i][1] * scale]);
      ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke();
    });
  }
}

function draw1d(canvas, f, curve, small) {
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height, n = curve.length;
  const X = (x) => (x - f.lo[0]) / (f.hi[0] - f.lo[0]) * w, Y = (v) => h - 20 - v * (h - 40);
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = "#bbb"; ctx.setLineDash([4, 4]);
  ctx.beginPath(); ctx.moveTo(0, Y(0.5)); ctx.lineTo(w, Y(0.5)); ctx.stroke(); ctx.setLineDash([]);
  const line = (values, style, scale) => {
    ctx.strokeStyle = style; ctx.lineWidth = 2; ctx.beginPath();
    values.forEach((v, i) => { const x = i / (n - 1) * w, y = Y(v * scale); if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y); });
    ctx.stroke();
  };
  const top = Math.max(...f.p_data, ...f.p_g, 1e-9);
  if ($("show-real").checked) line(f.p_data, "#1b7837", 1 / top);
  if ($("show-fake").checked) line(f.p_g, "#d95f02", 1 / top);
  if (small || $("show-heat").checked) line(curve, "#5e3c99", 1);
  if (small) return;
  ctx.fillStyle = "rgba(217,95,2,0.6)";
  for (const p of f.fake) ctx.fillRect(X(p[0]) - 1, h - 14, 2, 10);
  if ($("show-arrows").checked) {
    let longest = 1e-12;
    for (const a of f.arrows) longest = Math.max(longest, Math.abs(a[0]));
    ctx.strokeStyle = "rgba(60,60,60,0.7)";
    f.fake.forEach((p, i) => {
      if (i % 8) return;
      const x = X(p[0]), dx = f.arrows[i][0] / longest * 30, y = h - 20 - (i / 8 % 12) * 4;  // staggered rows
      ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + dx, y); ctx.lineTo(x + dx - Math.sign(dx) * 4, y - 3);
      ctx.stroke();
    });
  }
}

function chart(id, xs, lines, opts) {
  const c = $(id), ctx = c.getContext("2d"), w = c.width, h = c.height;
  ctx.clearRect(0, 0, w, h);
  const tf = opts.log ? (v) => Math.log10(Math.max(v, 1e-12)) : (v) => v;
  let lo = opts.lo !== undefined ? opts.lo : Infinity, hi = opts.hi !== undefined ? opts.hi : -Infinity;
  for (const l of lines) for (const v of l.values) if (v !== null) {
    if (opts.lo === undefined) lo = Math.min(lo, tf(v));
    if (opts.hi === undefined) hi = Math.max(hi, tf(v));
  }
  if (!isFinite(lo) || !isFinite(hi)) return;
  if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
  const x0 = xs.length ? xs[0] : 0, x1 = xs.length ? Math.max(xs[xs.length - 1], x0 + 1) : 1;
  const X = (x) => 30 + (x - x0) / (x1 - x0) * (w - 36), Y = (v) => h - 14 - (tf(v) - lo) / (hi - lo) * (h - 24);
  ctx.fillStyle = "#666"; ctx.font = "10px sans-serif";
  ctx.fillText((opts.log ? "1e" : "") + hi.toPrecision(3), 1, 10);
  ctx.fillText((opts.log ? "1e" : "") + lo.toPrecision(3), 1, h - 14);
  ctx.fillText(String(x1), w - 40, h - 2);
  if (opts.half) {
    ctx.strokeStyle = "#bbb"; ctx.setLineDash([4, 4]);
    ctx.beginPath(); ctx.moveTo(30, Y(0.5)); ctx.lineTo(w, Y(0.5)); ctx.stroke(); ctx.setLineDash([]);
  }
  for (const l of lines) {
    ctx.strokeStyle = l.colour; ctx.lineWidth = 1.5; ctx.beginPath();
    let pen = false;
    l.values.forEach((v, i) => {
      if (v === null) { pen = false; return; }
      const x = X((l.xs || xs)[i]), y = Y(v);
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
    });
    ctx.stroke();
  }
}

function drawCharts(s) {
  chart("chart-loss", s.step, [{values: s.d_loss, colour: "#5e3c99"}, {values: s.g_loss, colour: "#d95f02"}], {});
  chart("chart-d", s.step, [{values: s.d_real, colour: "#1b7837"}, {values: s.d_fake, colour: "#d95f02"}],
        {lo: 0, hi: 1, half: true});
  chart("chart-jsd", s.step, [{values: s.jsd_d, colour: "#5e3c99"}, {values: s.f_jsd, xs: s.f_step, colour: "#000"}],
        {});
  chart("chart-grad", s.step, [{values: s.g_grad, colour: "#d95f02"}], {log: true});
  const total = frame && frame.now.total;
  if (total) {
    chart("chart-modes", s.f_step, [{values: s.f_modes.map((v) => v === null ? null : v / total), colour: "#1b7837"},
                                    {values: s.f_hq, colour: "#d95f02"}], {lo: 0, hi: 1});
  } else {
    chart("chart-modes", [], [], {lo: 0, hi: 1});
  }
}
