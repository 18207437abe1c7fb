/** A small line chart in a table cell: the series' shape at a glance, last point marked. */

export function drawSparkline(canvas: HTMLCanvasElement, values: readonly number[], color = '#c0392b'): void {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.width;
  const hgt = canvas.height;
  canvas.style.width = `${w}px`;
  canvas.style.height = `${hgt}px`;
  canvas.width = Math.round(w * ratio);
  canvas.height = Math.round(hgt * ratio);
  const ctx = canvas.getContext('2d');
  if (!ctx || values.length === 0) return;
  ctx.scale(ratio, ratio);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const span = hi - lo || 1;
  const x = (i: number): number => (values.length === 1 ? w / 2 : 1 + (i / (values.length - 1)) * (w - 3));
  const y = (v: number): number => hgt - 2 - ((v - lo) / span) * (hgt - 4);
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.25;
  ctx.beginPath();
  values.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), y(v)) : ctx.lineTo(x(i), y(v))));
  ctx.stroke();
  const last = values[values.length - 1] as number;
  ctx.fillStyle = color;
  ctx.beginPath();
  ctx.arc(x(values.length - 1), y(last), 1.8, 0, Math.PI * 2);
  ctx.fill();
}
