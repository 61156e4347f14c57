// Bars of several series on a canvas with Chart.js (stacked, or side by side); its parts
// registered one by one so that the bundle keeps only what bars need (the same as
// lib/barChart.ts: no legend plugin, which would show on every bar chart; the component
// draws its legend in HTML). The colours are CSS custom properties read on the canvas, so
// the light and dark themes apply. Loaded lazily.

import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

export interface DrawnSeries {
  label: string;
  /** A CSS custom property holding the colour, e.g. `--accent`. */
  colour: string;
  values: number[];
}

function cssColour(element: Element, name: string, fallback: string): string {
  return getComputedStyle(element).getPropertyValue(name).trim() || fallback;
}

/** Draw `series` as bars over `labels`; answers a function that removes the chart. */
export function drawSeries(canvas: HTMLCanvasElement, labels: string[], series: DrawnSeries[], stacked: boolean): () => void {
  const text = cssColour(canvas, '--muted', '#4f5766');
  const grid = cssColour(canvas, '--border', '#c9ced8');
  const chart = new Chart(canvas, {
    type: 'bar',
    data: {
      labels,
      datasets: series.map((s) => ({
        label: s.label,
        data: s.values,
        backgroundColor: cssColour(canvas, s.colour, '#2450c2'),
        borderRadius: stacked ? 0 : 2,
      })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: 'index', intersect: false },
      plugins: {
        tooltip: { enabled: true },
      },
      scales: {
        x: { stacked, ticks: { color: text, maxRotation: 0, autoSkip: true, maxTicksLimit: 12 }, grid: { display: false } },
        y: { stacked, beginAtZero: true, ticks: { color: text, precision: 0 }, grid: { color: grid } },
      },
    },
  });
  return () => chart.destroy();
}
