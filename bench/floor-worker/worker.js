// The floor Worker (see wrangler.toml): POST -> one Durable Object -> one
// storage put -> 202. No verification, no parsing: the platform's own cost.

export class Floor {
  constructor(state) {
    this.state = state;
  }

  async fetch(request) {
    const body = await request.text();
    await this.state.storage.put(`inbox:${crypto.randomUUID()}`, body);
    return new Response('{"stored":true}', { status: 200 });
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (request.method === "GET" && pathname === "/healthz") {
      return Response.json({ ok: true });
    }
    if (request.method !== "POST") {
      return Response.json({ error: "POST only" }, { status: 405 });
    }
    const stub = env.FLOOR.get(env.FLOOR.idFromName("floor"));
    const stored = await stub.fetch("https://floor/changes", { method: "POST", body: await request.text() });
    if (stored.status !== 200) {
      return Response.json({ error: "not stored" }, { status: 503 });
    }
    return Response.json({ accepted: true }, { status: 202 });
  }
};
