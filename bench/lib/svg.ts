/** A small line chart as SVG text, written by hand (no plotting dependency). */

export interface Series {
  readonly name: string;
  readonly color: string;
  /** One value per x label; NaN leaves a gap. */
  readonly values: readonly number[];
  readonly dashed?: boolean;
}

export interface Chart {
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly xLabels: readonly string[];
  readonly series: readonly Series[];
}

const WIDTH = 460;
const HEIGHT = 320;
const MARGIN = { left: 64, right: 16, top: 36, bottom: 92 };

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A "nice" upper bound and step for an axis that must reach `max`. */
function axis(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  return { top: Math.ceil(max / step) * step, step };
}

function panel(chart: Chart, offsetX: number): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const values = chart.series.flatMap((s) => s.values.filter(Number.isFinite));
  const { top, step } = axis(Math.max(0, ...values));
  const x = (i: number) =>
    MARGIN.left + (chart.xLabels.length === 1 ? plotW / 2 : (i * plotW) / (chart.xLabels.length - 1));
  const y = (v: number) => MARGIN.top + plotH - (v / top) * plotH;
  const parts: string[] = [`<g transform="translate(${offsetX},0)">`];
  parts.push(
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${
      escape(chart.title)
    }</text>`,
  );
  for (let v = 0; v <= top + step / 2; v += step) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
    );
    parts.push(
      `<text x="${MARGIN.left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${
        Math.round(v).toLocaleString("en")
      }</text>`,
    );
  }
  parts.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${
      MARGIN.top + plotH
    }" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${MARGIN.top + plotH}" y2="${
      MARGIN.top + plotH
    }" stroke="#333"/>`,
  );
  chart.xLabels.forEach((label, i) => {
    parts.push(
      `<text x="${x(i)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle" font-size="11">${
        escape(label)
      }</text>`,
    );
  });
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${
      MARGIN.top + plotH + 34
    }" text-anchor="middle" font-size="12">${escape(chart.xTitle)}</text>`,
    `<text transform="translate(14,${
      MARGIN.top + plotH / 2
    }) rotate(-90)" text-anchor="middle" font-size="12">${escape(chart.yTitle)}</text>`,
  );
  for (const series of chart.series) {
    const points = series.values
      .map((v, i) => (Number.isFinite(v) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null))
      .filter((p): p is string => p !== null);
    const dash = series.dashed ? ` stroke-dasharray="6 4"` : "";
    if (points.length > 1) {
      parts.push(
        `<polyline fill="none" stroke="${series.color}" stroke-width="2"${dash} points="${
          points.join(" ")
        }"/>`,
      );
    }
    for (const point of points) {
      const [px, py] = point.split(",");
      parts.push(`<circle cx="${px}" cy="${py}" r="3.5" fill="${series.color}"/>`);
    }
  }
  chart.series.forEach((series, i) => {
    const ly = MARGIN.top + plotH + 52 + Math.floor(i / 2) * 16;
    const lx = MARGIN.left + (i % 2) * (plotW / 2);
    const dash = series.dashed ? ` stroke-dasharray="6 4"` : "";
    parts.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${
        ly - 4
      }" stroke="${series.color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 24}" y="${ly}" font-size="11">${escape(series.name)}</text>`,
    );
  });
  parts.push("</g>");
  return parts.join("\n");
}

/** Charts side by side in one SVG document. */
export function renderCharts(charts: readonly Chart[]): string {
  const width = WIDTH * charts.length;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${HEIGHT}" viewBox="0 0 ${width} ${HEIGHT}" font-family="sans-serif">`,
    `<rect width="${width}" height="${HEIGHT}" fill="white"/>`,
    ...charts.map((chart, i) => panel(chart, i * WIDTH)),
    "</svg>",
    "",
  ].join("\n");
}
