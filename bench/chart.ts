/**
 * The benchmark's chart: one row per case, pgconvoy against the reference tool as a ratio of wall time (the
 * reference = 1.0), with, where the run measured it, a thinner bar below for the ratio of CPU time. Each bar is
 * green when it meets its own target (wall 1.0 unless a case says otherwise, CPU 1.5), red when not. Written as a
 * self-contained SVG that the README shows. Plain SVG text, no dependency: the chart is a handful of rectangles,
 * and its numbers come straight from the same run's JSON.
 */

export interface ChartBar {
  /** e.g. "tar to /dev/null" */
  readonly label: string;
  /** pgconvoy's wall time divided by the PostgreSQL tool's (or, for serve, through serve / directly) */
  readonly ratio: number;
  /** what the ratio compares, shown after it: "vs pg_basebackup" */
  readonly against: string;
  /** the wall ratio to reach (default 1.0) */
  readonly target?: number;
  /** pgconvoy's CPU time (user+sys) divided by the reference's, when measured */
  readonly cpuRatio?: number;
}

export const CPU_TARGET = 1.5;

const WIDTH = 1000;
const ROW = 44;
const LEFT = 250;
const TOP = 44;
const SCALE_MAX = 2;

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

export function renderChart(title: string, subtitle: string, bars: readonly ChartBar[]): string {
  const height = TOP + bars.length * ROW + 40;
  const span = WIDTH - LEFT - 300;
  const x = (ratio: number): number => LEFT + Math.min(ratio, SCALE_MAX) / SCALE_MAX * span;
  const rows = bars.map((bar, index) => {
    const y = TOP + index * ROW;
    const good = bar.ratio <= (bar.target ?? 1);
    const cpu = bar.cpuRatio === undefined || Number.isNaN(bar.cpuRatio) ? [] : [
      `<rect x="${LEFT}" y="${y + 28}" width="${(x(bar.cpuRatio) - LEFT).toFixed(1)}" height="9" fill="${bar.cpuRatio <= CPU_TARGET ? '#81c784' : '#e57373'}"/>`,
      `<text x="${(x(bar.cpuRatio) + 6).toFixed(1)}" y="${y + 37}" font-size="11" fill="#444">CPU ${bar.cpuRatio.toFixed(2)}</text>`,
    ];
    return [
      `<text x="${LEFT - 8}" y="${y + 20}" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect x="${LEFT}" y="${y + 6}" width="${(x(bar.ratio) - LEFT).toFixed(1)}" height="20" fill="${good ? '#2e7d32' : '#c62828'}"/>`,
      `<text x="${(x(bar.ratio) + 6).toFixed(1)}" y="${y + 20}">${bar.ratio.toFixed(2)} ${escapeXml(bar.against)}</text>`,
      ...cpu,
    ].join('');
  });
  const one = x(1).toFixed(1);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="10" y="34" fill="#555">${escapeXml(subtitle)}</text>`,
    ...rows,
    `<line x1="${one}" y1="${TOP}" x2="${one}" y2="${TOP + bars.length * ROW + 6}" stroke="#333" stroke-dasharray="4 3"/>`,
    `<text x="${one}" y="${TOP + bars.length * ROW + 22}" text-anchor="middle" fill="#333">1.0 = as fast as PostgreSQL's own tool (shorter is faster; bars cut at ${SCALE_MAX}; thin bars: CPU time, target ${CPU_TARGET})</text>`,
    '</svg>',
    '',
  ].join('\n');
}
