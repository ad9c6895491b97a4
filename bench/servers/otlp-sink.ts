// An OTLP/HTTP trace endpoint that reads and drops what it gets: where the tracing bench's exporters send,
// in a process of its own so its work is not counted as the services'. Prints {"ready":true,"url":...};
// GET /stats answers how many export requests and bytes it got.
let requests = 0;
let bytes = 0;
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path === "/stats") return Response.json({ requests, bytes });
    if (req.method !== "POST" || path !== "/v1/traces") return new Response(null, { status: 404 });
    bytes += (await req.arrayBuffer()).byteLength;
    requests++;
    return new Response(new Uint8Array(), { headers: { "content-type": "application/x-protobuf" } });
  },
});
console.log(JSON.stringify({ ready: true, url: `http://127.0.0.1:${server.port}` }));
