#!/usr/bin/env node
// The gateway's signing keys (ES256, P-256) for the secret GATEWAY_KEYS,
// made with WebCrypto, the API the Worker signs with. See the README,
// "Protect your app", for the rotation procedure.
//
//   node scripts/gateway-keys.mjs new               a new set: current and next
//   node scripts/gateway-keys.mjs rotate < set.json  previous <- current,
//                                                    current <- next, next <- new
//
// The set is printed on stdout, nothing else: keep it in your secrets
// manager (Cloudflare cannot show a secret again) and store it with
//   npx wrangler secret put GATEWAY_KEYS < set.json
// Each key's id (kid) is its RFC 7638 thumbprint; the previous key keeps
// only its public part: it never signs again.
import { webcrypto as crypto } from "node:crypto";
import { readFileSync } from "node:fs";

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256" };

function base64url(bytes) {
  return Buffer.from(bytes).toString("base64url");
}

async function thumbprint({ x, y }) {
  const canonical = JSON.stringify({ crv: "P-256", kty: "EC", x, y });
  return base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical)));
}

async function newKey() {
  const pair = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const { kty, crv, x, y, d } = await crypto.subtle.exportKey("jwk", pair.privateKey);
  return { kty, crv, x, y, d, kid: await thumbprint({ x, y }) };
}

function publicPart({ kty, crv, x, y, kid }) {
  return { kty, crv, x, y, kid };
}

function fail(message) {
  process.stderr.write(`gateway-keys: ${message}\n`);
  process.exit(2);
}

async function main() {
  const [command] = process.argv.slice(2);
  if (command === "new") {
    return { current: await newKey(), next: await newKey() };
  }
  if (command === "rotate") {
    let set;
    try {
      set = JSON.parse(readFileSync(0, "utf8"));
    } catch {
      fail("rotate reads the current set (JSON) on standard input");
    }
    if (!set?.current?.d || !set?.next?.d) {
      fail("the set on standard input needs a current and a next key with their private parts");
    }
    for (const role of ["current", "next"]) {
      if (set[role].kid !== (await thumbprint(set[role]))) {
        fail(`the ${role} key's kid is not its thumbprint: not a set this command wrote`);
      }
    }
    return { current: set.next, next: await newKey(), previous: publicPart(set.current) };
  }
  fail("usage: gateway-keys.mjs new | rotate < set.json");
}

process.stdout.write(`${JSON.stringify(await main())}\n`);
