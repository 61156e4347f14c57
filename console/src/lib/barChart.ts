// A bar chart on a canvas with Chart.js, its parts registered one by one so that the bundle
// keeps only what bars need. Chart.js draws on the canvas and sizes it through the CSSOM
// (no injected stylesheet, no style attributes): the console's CSP allows it. Loaded lazily.

import { BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

/** The console's colours (light or dark theme) from its CSS variables. */
function themeColour(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

/** Draw `values` as bars labelled `labels`; answers a function that removes the chart. */
export function drawBars(canvas: HTMLCanvasElement, labels: string[], values: number[], label: string): () => void {
  const text = themeColour('--muted', '#4f5766');
  const grid = themeColour('--border', '#c9ced8');
  const chart = new Chart(canvas, {
    type: 'bar',
    data: { labels, datasets: [{ label, data: values, backgroundColor: themeColour('--accent', '#2450c2'), borderRadius: 2 }] },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { tooltip: { enabled: true } },
      scales: {
        x: { ticks: { color: text, maxRotation: 0, autoSkip: true, maxTicksLimit: 10 }, grid: { display: false } },
        y: { beginAtZero: true, ticks: { color: text, precision: 0 }, grid: { color: grid } },
      },
    },
  });
  return () => chart.destroy();
}
