import type { ReplayOutcome } from "../app/console-data";
import type { LetterDetail, LetterSummary } from "../../kit/events";
import { html, type Html } from "./html";

// The dead letters' pages: the list with replay and purge, one letter in full, what a replay came to.

/** Dead letters: the list, each with replay and purge. */
export function deadLettersPage(letters: LetterSummary[]): Html {
  return html`<h1>Dead letters</h1>
    <p>
      ${letters.length} dead letters.
      ${letters.length ? html`<button data-action="/api/dead-letters/purge" data-body='{"all":true}' data-confirm="Purge all ${letters.length} dead letters? They cannot be replayed afterwards.">Purge all</button>` : ""}
    </p>
    <table>
      <thead>
        <tr>
          <th>id</th>
          <th>failed at</th>
          <th>consumer</th>
          <th>event</th>
          <th>kind</th>
          <th>deliveries</th>
          <th>reason</th>
          <th>trace</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        ${letters.map((l) => letterRow(l))}
      </tbody>
    </table>`;
}

function letterRow(l: LetterSummary): Html {
  return html`<tr class="letter" data-id="${l.id}">
    <td><a href="/dead-letters/${l.id}">${l.id}</a></td>
    <td>${l.failedAt}</td>
    <td>${l.consumer}</td>
    <td>${l.eventType || l.subject}<br /><code class="muted">${l.eventId}</code></td>
    <td>${l.kind}</td>
    <td class="n">${l.deliveries}</td>
    <td>${l.reason}</td>
    <td>${l.traceId ? html`<a href="/traces/${l.traceId}"><code>${l.traceId.slice(0, 12)}…</code></a>` : "–"}</td>
    <td>
      <button
        class="replay"
        data-action="/api/dead-letters/${l.id}/replay"
        data-confirm="Replay dead letter ${l.id} (${l.eventType}) to ${l.consumer}?"
      >
        Replay
      </button>
      <button
        data-action="/api/dead-letters/purge"
        data-body="${JSON.stringify({ id: l.id })}"
        data-confirm="Purge dead letter ${l.id}? It cannot be replayed afterwards."
      >
        Purge
      </button>
    </td>
  </tr>`;
}

export function deadLetterPage(l: LetterDetail): Html {
  return html`<h1>Dead letter ${l.id}</h1>
    ${html`<table>
      <tbody>
        ${letterRow(l)}
      </tbody>
    </table>`}
    <h2>Event (decoded)</h2>
    <pre>${JSON.stringify(l.event, null, 2)}</pre>
    <h2>Headers</h2>
    <pre>${JSON.stringify(l.headers, null, 2)}</pre>`;
}

export function replayMessage(r: ReplayOutcome): string {
  return r.outcome === "resolved"
    ? `resolved ${r.letter.id}: ${r.letter.consumer} handled it`
    : r.outcome === "failed again"
      ? `failed again ${r.letter.id}: now dead letter ${r.again.id}: ${r.again.reason}`
      : `replayed ${r.letter.id}; ${r.letter.consumer} has not handled it yet (still in the DLQ)`;
}
