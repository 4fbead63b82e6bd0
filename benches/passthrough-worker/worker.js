// The gateway benchmark's baseline (issue #24), not the product: a bare
// pass-through Worker that forwards every request unchanged to UPSTREAM_URL
// (same path and query, method, headers and body) and hands the app's answer
// back as it came, both bodies streamed, redirects not followed. No session,
// no assertion, no header filtering: what remains is the cost of a Worker
// that forwards, which the gateway's figures are compared with. Never
// deployed. See README.md.

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const target = `${env.UPSTREAM_URL.replace(/\/+$/, "")}${url.pathname}${url.search}`;
    return fetch(target, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: "manual",
    });
  },
};
