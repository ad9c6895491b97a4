import type { OrderPage } from "../app/console-data";
import type { TraceQuery, TraceSummary } from "../traces/trace-store";
import type { Waterfall } from "../traces/waterfall";
import { fmtMs, html, type Html } from "./html";

// The pages of the traces the console receives: the search, one trace's waterfall, one order's timeline.

/** Traces: a search over the traces kept (order, customer, trace id, errors). */
export function tracesPage(p: { kept: number; traces: TraceSummary[] }, q: TraceQuery): Html {
  return html`<h1>Traces</h1>
    <form method="get" action="/traces" class="search">
      <label>order id <input name="order" value="${q.orderId ?? ""}" size="36" /></label>
      <label>customer id <input name="customer" value="${q.customerId ?? ""}" size="36" /></label>
      <label>trace id <input name="trace" value="${q.traceId ?? ""}" size="32" /></label>
      <label><input type="checkbox" name="errors" value="1" ${q.errors ? "checked" : ""} /> with errors</label>
      <button type="submit">Search</button>
    </form>
    <p class="muted">
      ${p.kept} traces kept in memory (OTLP/HTTP on POST /v1/traces); ${p.traces.length} shown, newest first.
    </p>
    ${traceTable(p.traces)}`;
}

function traceTable(traces: TraceSummary[]): Html {
  return html`<table class="traces">
    <thead>
      <tr>
        <th>trace</th>
        <th>root</th>
        <th>services</th>
        <th>spans</th>
        <th>errors</th>
        <th>duration</th>
        <th>started</th>
        <th>order</th>
      </tr>
    </thead>
    <tbody>
      ${traces.map(
        (t) =>
          html`<tr class="trace" data-trace="${t.traceId}">
            <td>
              <a href="/traces/${t.traceId}"><code>${t.traceId}</code></a>
            </td>
            <td>${t.root}</td>
            <td>${t.services.join(", ")}</td>
            <td class="n">${t.spans}</td>
            <td class="n ${t.errors ? "bad" : ""}">${t.errors}</td>
            <td class="n">${fmtMs(t.durationMs)}</td>
            <td>${new Date(t.startMs).toISOString()}</td>
            <td>${t.orderIds.map((o) => html`<a href="/orders/${o}"><code>${o.slice(0, 8)}</code></a> `)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

const COLORS = ["#2f5fd0", "#1b7f3b", "#a15c00", "#8e24aa", "#00838f", "#c2185b", "#5d4037", "#455a64"];

/** One trace as a waterfall: a bar per span, indented by its parent, coloured by service. */
export function tracePage(w: Waterfall): Html {
  const color = (s: string) => COLORS[w.services.indexOf(s) % COLORS.length]!;
  const total = Math.max(w.totalMs, 0.001);
  return html`<h1>Trace <code>${w.traceId}</code></h1>
    <p>
      ${w.rows.length} spans from ${w.services.length} services
      (${w.services.map((s) => html`<span style="color:${color(s)}">■ ${s}</span> `)}), ${fmtMs(w.totalMs)}
    </p>
    <table class="wf">
      <thead>
        <tr>
          <th>service</th>
          <th>span</th>
          <th>kind</th>
          <th>duration</th>
          <th>timeline</th>
        </tr>
      </thead>
      <tbody>
        ${w.rows.map(
          (r) =>
            html`<tr
              class="span ${r.error ? "bad" : ""}"
              data-service="${r.service}"
              title="${Object.entries(r.attributes)
                .map(([k, v]) => `${k}=${v}`)
                .join(
                  "\n",
                )}${r.statusMessage ? `\nstatus: ${r.statusMessage}` : ""}${r.events.length ? `\nevents: ${r.events.join(", ")}` : ""}"
            >
              <td>${r.service}</td>
              <td style="padding-left:${6 + r.depth * 14}px">
                ${r.name}${r.error ? html` <span class="bad">✗ ${r.statusMessage}</span>` : ""}
              </td>
              <td>${r.kind}</td>
              <td class="n">${fmtMs(r.durationMs)}</td>
              <td>
                <div class="bar">
                  <span
                    style="left:${((100 * r.offsetMs) / total).toFixed(2)}%;width:${Math.max(0.3, (100 * r.durationMs) / total).toFixed(2)}%;background:${color(r.service)}"
                  ></span>
                </div>
              </td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

/** Orders: one order's timeline from the spans of every trace that names it. */
export function orderPage(p: OrderPage | undefined, orderId: string): Html {
  const form = html`<form method="get" action="/orders">
    <label>order id <input name="id" value="${orderId}" size="36" /></label> <button type="submit">Show</button>
  </form>`;
  if (!p)
    return html`<h1>Orders</h1>
      ${form}
      <p class="muted">An order's saga steps, calls and events, from the traces the console holds.</p>`;
  return html`<h1>Order <code>${p.orderId}</code></h1>
    ${form}
    <p>${p.timeline.length} steps in ${p.traces.length} traces.</p>
    <table class="timeline">
      <thead>
        <tr>
          <th>at</th>
          <th>service</th>
          <th>what</th>
          <th>span</th>
          <th>duration</th>
          <th>trace</th>
        </tr>
      </thead>
      <tbody>
        ${p.timeline.map(
          (s) =>
            html`<tr class="step ${s.error ? "bad" : ""}" data-what="${s.what}">
              <td>${new Date(s.atMs).toISOString().slice(11, 23)}</td>
              <td>${s.service}</td>
              <td>${s.what}</td>
              <td>${s.name}${s.error ? " ✗" : ""}</td>
              <td class="n">${fmtMs(s.durationMs)}</td>
              <td>
                <a href="/traces/${s.traceId}"><code>${s.traceId.slice(0, 8)}</code></a>
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h2>Traces</h2>
    ${traceTable(p.traces)}`;
}
