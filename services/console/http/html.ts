/** HTML built from strings: every value goes through `esc`, markup only through `raw`. */
export class Html {
  constructor(readonly value: string) {}
  toString() {
    return this.value;
  }
}

export const raw = (s: string) => new Html(s);

export function esc(v: unknown): string {
  return String(v ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

/** A template tag: interpolated values are escaped unless they are Html (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new Html(out);
}

function render(v: unknown): string {
  if (v instanceof Html) return v.value;
  if (Array.isArray(v)) return v.map(render).join("");
  if (v === undefined || v === null || v === false) return "";
  return esc(v);
}

/** A small line of rates, as inline SVG. */
export function sparkline(values: readonly number[], { width = 120, height = 24 } = {}): Html {
  if (values.length < 2)
    return html`<svg class="spark" width="${width}" height="${height}" role="img" aria-label="no rate yet"></svg>`;
  const max = Math.max(...values, 0.001);
  const step = width / (values.length - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`);
  return html`<svg
    class="spark"
    width="${width}"
    height="${height}"
    viewBox="0 0 ${width} ${height}"
    role="img"
    aria-label="rate, last ${values.at(-1)}/s"
  >
    <polyline fill="none" stroke="currentColor" stroke-width="1.5" points="${points.join(" ")}" />
  </svg>`;
}

export const fmtMs = (ms: number | undefined) =>
  ms === undefined
    ? "–"
    : ms >= 1000
      ? `${(ms / 1000).toFixed(2)} s`
      : `${ms < 10 ? ms.toFixed(2) : Math.round(ms)} ms`;

export function fmtUptime(ms: number | undefined): string {
  if (ms === undefined) return "–";
  const s = Math.floor(ms / 1000);
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

const NAV = [
  ["/", "Services"],
  ["/calls", "Calls"],
  ["/traces", "Traces"],
  ["/events", "Events"],
  ["/dead-letters", "Dead letters"],
  ["/orders", "Orders"],
] as const;

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:8px 16px;display:flex;gap:16px;align-items:center}
header a{color:#cfd6e4;text-decoration:none}header a.on{color:#fff;font-weight:600}
header form{margin-left:auto}main{padding:16px}
table{border-collapse:collapse;background:#fff;margin:8px 0 16px;width:100%}
th,td{border-bottom:1px solid #e3e6eb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.bad{color:#b3261e;font-weight:600}.ok{color:#1b7f3b}.warn{color:#a15c00;font-weight:600}.muted{color:#6b7280}
code,pre,textarea{font:12px ui-monospace,monospace}pre{background:#fff;padding:8px;overflow:auto}
.spark{color:#2f5fd0;vertical-align:middle}
.wf{font:12px ui-monospace,monospace}.wf td{padding:2px 6px;white-space:nowrap}.bar{position:relative;height:14px;min-width:500px}
.bar span{position:absolute;height:12px;top:1px;border-radius:2px;min-width:2px}
#flash{padding:8px 16px;background:#fff4ce;display:none}#flash.on{display:block}
button{cursor:pointer}form.inline{display:inline}
`;

/**
 * Pages refresh themselves: the main part is fetched again (`x-fragment: 1`) every few seconds and
 * swapped in, unless the operator is typing in it. Actions are JSON requests, each confirmed first.
 */
const SCRIPT = `
const live=document.getElementById("live");
async function refresh(){
  if(!live||live.contains(document.activeElement)&&/INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName))return;
  try{const r=await fetch(location.pathname+location.search,{headers:{"x-fragment":"1"}});
    if(r.ok&&r.headers.get("content-type")?.includes("text/html"))live.innerHTML=await r.text();}catch{}
}
setInterval(refresh,${"$"}{REFRESH_MS});
function flash(text,bad){const f=document.getElementById("flash");f.textContent=text;f.className="on"+(bad?" bad":"");}
document.addEventListener("click",async(e)=>{
  const b=e.target.closest("button[data-action]");if(!b)return;e.preventDefault();
  if(b.dataset.confirm&&!confirm(b.dataset.confirm))return;
  let body=b.dataset.body||"{}";
  if(b.dataset.source)body=document.getElementById(b.dataset.source).value;
  b.disabled=true;
  try{const r=await fetch(b.dataset.action,{method:b.dataset.method||"POST",headers:{"content-type":"application/json"},body});
    const j=await r.json().catch(()=>({}));
    flash(j.message||(r.ok?"done":"failed: "+(j.error?.message||r.status)),!r.ok);
    await refresh();}finally{b.disabled=false;}
});
`;

/** A whole page: navigation, the flash line, the live part. */
export function layout(title: string, path: string, body: Html, refreshMs: number): Html {
  const nav = NAV.map(([href, label]) => {
    const on = href === "/" ? path === "/" : path.startsWith(href);
    return html`<a href="${href}" class="${on ? "on" : ""}">${label}</a>`;
  });
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>${title} · console</title>
        <meta name="viewport" content="width=device-width" />
        <style>
          ${raw(STYLE)}
        </style>
      </head>
      <body>
        <header>
          <strong>shop console</strong>${nav}
          <form method="post" action="/logout"><button type="submit">Log out</button></form>
        </header>
        <div id="flash" role="status"></div>
        <main id="live">${body}</main>
        <script>
          ${raw(SCRIPT.replace("${REFRESH_MS}", String(refreshMs)))};
        </script>
      </body>
    </html>`;
}
