/**
 * LOCAL DATA API STAND-IN — not PostgREST. What sits in front of PostgREST on Supabase:
 * the API gateway's key check (no `apikey`, or a wrong one, is 401 before PostgREST sees
 * the request; https://supabase.com/docs/guides/api/api-keys), and CORS as PostgREST
 * answers it by default (docs/references/api/cors.rst, v14.17). Every answer is labelled.
 */

/** Supabase's gateway: no key 401, a wrong key 401, before PostgREST sees anything. */
export function checkApiKey(request: Request, url: URL, apiKey: string): Response | null {
  const given = request.headers.get("apikey") ?? url.searchParams.get("apikey");
  if (given === null || given === "") {
    return Response.json({
      message: "No API key found in request",
      hint: "No `apikey` request header or url param was found.",
    }, {
      status: 401,
    });
  }
  if (given !== apiKey) {
    return Response.json({
      message: "Invalid API key",
      hint: "Double check your Supabase `anon` or `service_role` API key.",
    }, {
      status: 401,
    });
  }
  return null;
}

/** PostgREST's default CORS (docs/references/api/cors.rst): any origin, preflight cached a day. */
export function preflight(request: Request): Response {
  const origin = request.headers.get("origin") ?? "*";
  return new Response(null, {
    status: 200,
    headers: {
      "access-control-allow-origin": origin,
      "access-control-allow-credentials": "true",
      "access-control-allow-methods": "GET, POST, PATCH, PUT, DELETE, OPTIONS, HEAD",
      "access-control-allow-headers": request.headers.get("access-control-request-headers") ??
        "Authorization, Content-Type, Accept, Accept-Language, Content-Language",
      "access-control-max-age": "86400",
      "vary": "Origin",
    },
  });
}

/** Every answer says what served it, as the development issuer's do (never a real PostgREST). */
export function withCors(response: Response, origin: string | null): Response {
  const headers = new Headers(response.headers);
  headers.set("x-sessionguard-data-api", "local stand-in");
  if (origin === null) return new Response(response.body, { status: response.status, headers });
  headers.set("access-control-allow-origin", origin);
  headers.set("access-control-allow-credentials", "true");
  headers.set(
    "access-control-expose-headers",
    "Content-Encoding, Content-Location, Content-Range, Content-Type, Date, Location, Server, Transfer-Encoding, Range-Unit",
  );
  headers.append("vary", "Origin");
  return new Response(response.body, { status: response.status, headers });
}
