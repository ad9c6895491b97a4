import type { EventsPage, ServicesPage } from "../app/console-data";
import type { CallEdge } from "../platform/call-matrix";
import { fmtMs, fmtUptime, html, sparkline, type Html } from "./html";

const stateClass = (s: string) => (s === "closed" ? "ok" : s === "half-open" ? "warn" : "bad");
const pct = (part: number | undefined, whole: number | undefined) =>
  whole ? `${((100 * (part ?? 0)) / whole).toFixed(1)} %` : "–";

/** Services: every instance, its figures, and per target the policies in force and the breakers on it. */
export function servicesPage(p: ServicesPage): Html {
  const services = [...new Set(p.instances.map((i) => i.service))].sort();
  return html`<h1>Services</h1>
    <p class="muted">
      ${p.instances.length} instances of ${services.length} services, from $SRV.INFO/STATS and each instance's /metrics,
      at ${p.at}
    </p>
    <table>
      <thead>
        <tr>
          <th>service</th>
          <th>requests/s</th>
          <th>instance</th>
          <th>version</th>
          <th>endpoints</th>
          <th>uptime</th>
          <th>requests</th>
          <th>errors</th>
          <th>avg (NATS)</th>
          <th>p99</th>
          <th>breakers (as caller)</th>
        </tr>
      </thead>
      <tbody>
        ${p.instances.map(
          (i) =>
            html`<tr data-service="${i.service}">
              <td><strong>${i.service}</strong></td>
              <td>
                ${sparkline(p.rates[i.service] ?? [])}
                <span class="muted">${(p.rates[i.service] ?? []).at(-1) ?? "–"}</span>
              </td>
              <td><code>${i.id}</code></td>
              <td>${i.version}</td>
              <td>
                ${i.http ?? ""}${i.grpc ? html`<br />gRPC ${i.grpc}` : ""}${i.ops ? html`<br />ops ${i.ops}` : ""}<br /><span
                  class="muted"
                  >${i.endpoints.length} NATS endpoints</span
                >
              </td>
              <td class="n">${fmtUptime(i.uptimeMs)}</td>
              <td class="n">${i.requests}</td>
              <td class="n ${i.errors ? "bad" : ""}">${i.errors}</td>
              <td class="n">${fmtMs(i.averageMs)}</td>
              <td class="n">${fmtMs(i.p99Ms)}</td>
              <td>
                ${i.breakers.map((b) => html`<span class="breaker ${stateClass(b.state)}" data-target="${b.target}" data-state="${b.state}">${b.target}: ${b.state}</span><br />`)}${i.scrapeError ? html`<span class="warn">metrics: ${i.scrapeError}</span>` : ""}
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h2>Policies per target</h2>
    <p class="muted">
      What callers apply (the defaults with the overrides stored in the policies bucket) and each caller's breaker on
      the target. Edits are checked like <code>bun run cli policies set</code>; services apply them at once.
    </p>
    <table>
      <thead>
        <tr>
          <th>target</th>
          <th>breakers</th>
          <th>in force</th>
          <th>overrides (JSON)</th>
        </tr>
      </thead>
      <tbody>
        ${p.targets.map(
          (t) =>
            html`<tr data-target="${t.target}">
              <td>
                <strong>${t.target}</strong
                >${t.revision ? html`<br /><span class="muted">revision ${t.revision}</span>` : ""}
              </td>
              <td>
                ${t.breakers.length ? t.breakers.map((b) => html`<span class="breaker ${stateClass(b.state)}" data-state="${b.state}">${b.caller} <code>${b.instance.slice(0, 8)}</code>: ${b.state}</span><br />`) : html`<span class="muted">no caller yet</span>`}
              </td>
              <td>
                <code
                  >timeout ${t.settings.attemptTimeoutMs} ms · retries ${t.settings.retry.maxRetries} · breaker
                  &gt;${t.settings.breaker.failureRateThreshold} of ≥${t.settings.breaker.minimumCalls} in
                  ${t.settings.breaker.windowMs} ms, half-open after ${t.settings.breaker.halfOpenAfterMs} ms · bulkhead
                  ${t.settings.bulkhead.maxConcurrent}/${t.settings.bulkhead.maxQueued} ·
                  ${t.settings.loadBalancing}</code
                >
              </td>
              <td>
                <textarea id="policy-${t.target}" rows="3" cols="48" aria-label="overrides for ${t.target}">
${JSON.stringify(t.overrides ?? {})}</textarea
                ><br />
                <button
                  data-action="/api/policies/${t.target}"
                  data-method="PUT"
                  data-source="policy-${t.target}"
                  data-confirm="Store these overrides for calls to ${t.target}? Every caller applies them at once."
                >
                  Save
                </button>
                <button
                  data-action="/api/policies/${t.target}"
                  data-method="DELETE"
                  data-confirm="Back to the defaults for ${t.target}?"
                >
                  Defaults
                </button>
              </td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

/** Calls: who calls whom (metrics and traces), how often, how often failing, how slow. */
export function callsPage(p: { at: string; edges: CallEdge[] }): Html {
  const services = [...new Set(p.edges.flatMap((e) => [e.from, e.to]))].sort();
  const cell = (from: string, to: string) => {
    const es = p.edges.filter((e) => e.from === from && e.to === to);
    if (!es.length) return html`<td></td>`;
    return html`<td>
      ${es.map((e) =>
        e.kind === "event"
          ? html`<div class="muted">events · ${e.traced?.count ?? 0} traced</div>`
          : html`<div>
              ${sparkline(e.rates ?? [], { width: 80, height: 18 })} ${e.rate ?? "–"}/s ·
              ${pct(e.failedAttempts, e.attempts)} err
            </div>`,
      )}
    </td>`;
  };
  return html`<h1>Calls</h1>
    <p class="muted">
      Callers' rpc_client_attempts_total (rates between the last two samples), targets' rpc_server_duration_seconds, and
      the traces the console holds (a server or consumer span under another service's span). ${p.at}
    </p>
    <table class="matrix">
      <thead>
        <tr>
          <th>caller ↓ / callee →</th>
          ${services.map((s) => html`<th>${s}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${services.map(
          (from) =>
            html`<tr>
              <th>${from}</th>
              ${services.map((to) => cell(from, to))}
            </tr>`,
        )}
      </tbody>
    </table>
    <table>
      <thead>
        <tr>
          <th>from</th>
          <th>to</th>
          <th>kind</th>
          <th>attempts</th>
          <th>failed</th>
          <th>rate</th>
          <th>error rate</th>
          <th>p99 (target, all callers)</th>
          <th>traced</th>
          <th>traced errors</th>
          <th>traced p99</th>
        </tr>
      </thead>
      <tbody>
        ${p.edges.map(
          (e) =>
            html`<tr class="edge" data-from="${e.from}" data-to="${e.to}" data-kind="${e.kind}">
              <td>${e.from}</td>
              <td>${e.to}</td>
              <td>${e.kind}</td>
              <td class="n">${e.attempts ?? "–"}</td>
              <td class="n ${e.failedAttempts ? "bad" : ""}">${e.failedAttempts ?? "–"}</td>
              <td class="n">${e.rate === undefined ? "–" : `${e.rate}/s`}</td>
              <td class="n">${e.errorRate === undefined ? "–" : `${e.errorRate}/s`}</td>
              <td class="n">${fmtMs(e.serverP99Ms)}</td>
              <td class="n">${e.traced?.count ?? "–"}</td>
              <td class="n ${e.traced?.errors ? "bad" : ""}">${e.traced?.errors ?? "–"}</td>
              <td class="n">${fmtMs(e.traced?.p99Ms)}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

/** Events: streams, their consumers' lag, and what is known of the outboxes. */
export function eventsPage(p: EventsPage): Html {
  return html`<h1>Events</h1>
    <table>
      <thead>
        <tr>
          <th>stream</th>
          <th>subjects</th>
          <th>messages</th>
          <th>bytes</th>
          <th>last</th>
          <th>consumer</th>
          <th>pending</th>
          <th>ack pending</th>
          <th>redelivered</th>
          <th>delivered</th>
        </tr>
      </thead>
      <tbody>
        ${p.streams.map((s) => {
          const rows = s.consumers.length ? s.consumers : [undefined];
          return rows.map(
            (c, k) =>
              html`<tr class="stream" data-stream="${s.name}" data-consumer="${c?.name ?? ""}">
                ${
                  k === 0
                    ? html`<td rowspan="${rows.length}">
                          <strong>${s.name}</strong
                          >${s.problem ? html`<br /><span class="warn">${s.problem}</span>` : ""}
                        </td>
                        <td rowspan="${rows.length}"><code>${s.subjects.join(" ")}</code></td>
                        <td rowspan="${rows.length}" class="n">${s.messages}</td>
                        <td rowspan="${rows.length}" class="n">${s.bytes}</td>
                        <td rowspan="${rows.length}">${s.lastAt ?? ""}</td>`
                    : ""
                }
                <td>${c?.name ?? html`<span class="muted">no consumer</span>`}</td>
                <td class="n ${c?.pending ? "warn" : ""}">${c?.pending ?? ""}</td>
                <td class="n">${c?.ackPending ?? ""}</td>
                <td class="n ${c?.redelivered ? "warn" : ""}">${c?.redelivered ?? ""}</td>
                <td class="n">${c?.delivered ?? ""}</td>
              </tr>`,
          );
        })}
      </tbody>
    </table>
    <h2>Outboxes</h2>
    <p class="muted">${p.outboxNote}</p>
    <table>
      <thead>
        <tr>
          <th>service</th>
          <th>events published (all instances)</th>
        </tr>
      </thead>
      <tbody>
        ${p.outbox.map(
          (o) =>
            html`<tr>
              <td>${o.service}</td>
              <td class="n">${o.published}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

export function loginPage(next: string, failed: boolean): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>Log in · console</title>
      </head>
      <body style="font:14px system-ui;max-width:420px;margin:80px auto">
        <h1>shop console</h1>
        ${failed ? html`<p style="color:#b3261e">That is not the admin key.</p>` : ""}
        <form method="post" action="/login">
          <input type="hidden" name="next" value="${next}" />
          <label
            >Admin key (GATEWAY_ADMIN_API_KEY)<br /><input
              type="password"
              name="key"
              autocomplete="current-password"
              size="40"
              autofocus
          /></label>
          <p><button type="submit">Log in</button></p>
        </form>
      </body>
    </html>`;
}
