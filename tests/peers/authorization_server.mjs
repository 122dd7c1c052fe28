// A real OAuth 2.1 authorization server for the tests: oidc-provider (npm, pinned in package.json),
// configured here. Prints one JSON line {"issuer", "port"} on stdout once it listens on 127.0.0.1.
//
// What it does: client_credentials and authorization_code with PKCE (S256, required), refresh tokens
// (rotated), open dynamic client registration (/reg), resource indicators (RFC 8707) giving RS256
// JWT access tokens whose `aud` is the resource, introspection and revocation. The browser step is
// approved by itself (each hop a redirect), as the user named by `login_hint` (default test-user).
//
// Environment: AS_ACCESS_TTL seconds an access token lives (3600), AS_SCOPES ("read write"),
// AS_CLIENTS_JSON more pre-registered clients (a JSON array).
import * as crypto from "node:crypto";
import * as http from "node:http";

console.info = (...args) => console.error(...args); // its notices go to stderr: stdout is the ready line
const { default: Provider } = await import("oidc-provider");

const ACCESS_TTL = Number(process.env.AS_ACCESS_TTL || 3600);
const SCOPES = (process.env.AS_SCOPES ?? "read write").split(/\s+/).filter(Boolean);

let provider;
let handle;
const server = http.createServer(async (request, response) => {
  try {
    if (request.method === "GET" && request.url.startsWith("/interaction/")) {
      return await approve(request, response);
    }
    return handle(request, response);
  } catch (error) {
    console.error(error);
    response.statusCode = 500;
    response.end(String(error));
  }
});

async function approve(request, response) {
  const { prompt, params, session, grantId } = await provider.interactionDetails(request, response);
  if (prompt.name === "login") {
    const login = { accountId: params.login_hint || "test-user" };
    return provider.interactionFinished(request, response, { login }, { mergeWithLastSubmission: false });
  }
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
  for (const [resource, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(resource, scopes.join(" "));
  }
  const consent = { grantId: await grant.save() };
  return provider.interactionFinished(request, response, { consent }, { mergeWithLastSubmission: true });
}

await new Promise((listening) => server.listen(0, "127.0.0.1", listening));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;
const key = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });

provider = new Provider(issuer, {
  clients: [
    {
      client_id: "service",
      client_secret: "service-secret",
      grant_types: ["client_credentials", "authorization_code", "refresh_token"],
      redirect_uris: ["http://127.0.0.1/callback"],
      application_type: "native",
      token_endpoint_auth_method: "client_secret_basic",
    },
    ...JSON.parse(process.env.AS_CLIENTS_JSON || "[]"),
  ],
  jwks: { keys: [{ ...key, kid: "test-key", alg: "RS256", use: "sig" }] },
  cookies: { keys: [crypto.randomBytes(32).toString("hex")] },
  scopes: ["openid", "offline_access", ...SCOPES],
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    registration: { enabled: true, initialAccessToken: false },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx, client, oneOf) => oneOf,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => ({
        scope: SCOPES.join(" "),
        audience: resource,
        accessTokenTTL: ACCESS_TTL,
        accessTokenFormat: "jwt",
        jwt: { sign: { alg: "RS256" } },
      }),
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed("refresh_token"),
  expiresWithSession: async () => false,
  ttl: {
    AccessToken: () => ACCESS_TTL,
    ClientCredentials: () => ACCESS_TTL,
    AuthorizationCode: () => 60,
    RefreshToken: () => 86400,
    IdToken: () => ACCESS_TTL,
    Interaction: () => 600,
    Session: () => 86400,
    Grant: () => 86400,
  },
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
});
handle = provider.callback();

process.stdout.write(JSON.stringify({ issuer, port }) + "\n");
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
