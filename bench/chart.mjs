// The SVG chart of bench/load.mjs: median requests per second per flow and concurrency,
// edge-oauth beside workers-oauth-provider, one group of bars per flow and concurrency.
// A bar whose rounds had errors is hatched red and labelled "errors" (it does not count).

const esc = (s) => String(s).replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]);

/** The chart of a report as an SVG document. */
export function renderChart(report) {
  const entries = report.results;
  const names = ['edge-oauth', 'workers-oauth-provider'];
  const colors = { 'edge-oauth': '#2b6cb0', 'workers-oauth-provider': '#a0aec0' };
  const max = Math.max(1, ...entries.flatMap((e) => names.map((n) => e.medianRps[n]).filter(Number.isFinite)));
  const barW = 16;
  const groupW = barW * 2 + 14;
  const left = 56;
  const top = 40;
  const h = 220;
  const width = left + entries.length * groupW + 20;
  const height = top + h + 110;
  const y = (v) => top + h - (v / max) * h;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10">`);
  out.push('<defs><pattern id="err" width="4" height="4" patternUnits="userSpaceOnUse"><path d="M0,4 L4,0" stroke="#c53030" stroke-width="1"/></pattern></defs>');
  out.push(`<text x="${left}" y="16" font-size="12" font-weight="bold">Token endpoint and /userinfo under wrangler dev: median requests per second</text>`);
  out.push(`<text x="${left}" y="30" fill="#555">${esc(`${report.started} · ${report.rounds} interleaved round(s) per server · ${report.machine}`)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    out.push(`<line x1="${left - 4}" x2="${width - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#e2e8f0"/>`);
    out.push(`<text x="${left - 6}" y="${y(v) + 3}" text-anchor="end" fill="#555">${v.toFixed(0)}</text>`);
  }
  entries.forEach((e, gi) => {
    const gx = left + gi * groupW + 7;
    names.forEach((n, bi) => {
      const v = e.medianRps[n];
      if (!Number.isFinite(v)) return;
      const x = gx + bi * barW;
      const bad = e.errors[n] > 0;
      out.push(`<rect x="${x}" y="${y(v)}" width="${barW - 2}" height="${top + h - y(v)}" fill="${bad ? 'url(#err)' : colors[n]}"${bad ? ' stroke="#c53030"' : ''}><title>${esc(`${n}: ${v.toFixed(0)} req/s, ${e.errors[n]} errors`)}</title></rect>`);
      if (bad) out.push(`<text x="${x + barW / 2}" y="${y(v) - 3}" text-anchor="middle" fill="#c53030">errors</text>`);
    });
    const label = `${e.flow.replace('client_credentials', 'cc').replace('authorization_code', 'code').replace('refresh_token', 'refresh')} c=${e.concurrency}`;
    out.push(`<text transform="translate(${gx + barW},${top + h + 8}) rotate(50)" fill="#333">${esc(label)}</text>`);
    if (e.ratio !== null && Number.isFinite(e.ratio)) out.push(`<text x="${gx + barW}" y="${top + h + 4 + 90}" text-anchor="middle" fill="#333">${e.ratio.toFixed(2)}×</text>`);
  });
  names.forEach((n, i) => {
    out.push(`<rect x="${width - 190}" y="${8 + i * 13}" width="10" height="10" fill="${colors[n]}"/><text x="${width - 176}" y="${17 + i * 13}">${n}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
