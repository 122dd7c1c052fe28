// A real OAuth 2.1 authorization server for the tests: oidc-provider (npm, pinned in package.json),
// configured here. Prints one JSON line {"issuer", "port"} on stdout once it listens on 127.0.0.1.
//
// What it does: client_credentials and authorization_code with PKCE (S256, required), refresh tokens
// (rotated), open dynamic client registration (/reg), resource indicators (RFC 8707) giving RS256
// JWT access tokens whose `aud` is the resource, introspection and revocation, and token exchange
// (RFC 8693) for the client `service`. The browser step is approved by itself (each hop a
// redirect), as the user named by `login_hint` (default test-user).
//
// Environment: AS_ACCESS_TTL seconds an access token lives (3600), AS_SCOPES ("read write"),
// AS_CLIENTS_JSON more pre-registered clients (a JSON array), AS_TOKEN_FORMAT "jwt" (default) or
// "opaque" access tokens: only opaque ones are stored, so only they can be introspected or revoked.
import * as crypto from "node:crypto";
import * as http from "node:http";

console.info = (...args) => console.error(...args); // its notices go to stderr: stdout is the ready line
const { default: Provider, errors } = await import("oidc-provider");
const jose = await import("jose"); // oidc-provider's own JWT library

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

const ACCESS_TTL = Number(process.env.AS_ACCESS_TTL || 3600);
const SCOPES = (process.env.AS_SCOPES ?? "read write").split(/\s+/).filter(Boolean);

let provider;
let handle;

function resourceServer(resource) {
  return {
    scope: SCOPES.join(" "),
    audience: resource,
    accessTokenTTL: ACCESS_TTL,
    accessTokenFormat: process.env.AS_TOKEN_FORMAT || "jwt", // `jwt` below applies to "jwt" only
    jwt: { sign: { alg: "RS256" } },
  };
}

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
const keys = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
const key = keys.privateKey.export({ format: "jwk" });
const publicKey = keys.publicKey;

provider = new Provider(issuer, {
  clients: [
    {
      client_id: "service",
      client_secret: "service-secret",
      grant_types: ["client_credentials", "authorization_code", "refresh_token", TOKEN_EXCHANGE],
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
      getResourceServerInfo: (ctx, resource) => resourceServer(resource),
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
  extraTokenClaims: (ctx, token) => (token.gty === "token_exchange" ? { act: { sub: token.clientId } } : undefined),
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
});
provider.registerGrantType(
  TOKEN_EXCHANGE,
  exchange,
  ["subject_token", "subject_token_type", "requested_token_type", "resource", "scope"],
  ["resource"],
);
handle = provider.callback();

// Token exchange (RFC 8693), through oidc-provider's extension point for grant types: an access token
// this server issued (the subject) becomes one for another resource, naming the same subject and the
// client that asked as its actor (`act`). Scopes: those asked for that the subject token also grants.
async function exchange(ctx) {
  const { params, client } = ctx.oidc;
  if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
    throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
  }
  const subject = await issuedAccessToken(params.subject_token);
  if (!subject) throw new errors.InvalidGrant("the subject_token is not an active access token of this server");
  const resource = Array.isArray(params.resource) ? params.resource[0] : params.resource;
  if (!resource) throw new errors.InvalidTarget("a resource is required");
  const held = new Set((subject.scope || "").split(" "));
  const scope = (params.scope || subject.scope || "").split(" ").filter((name) => held.has(name)).join(" ");
  const token = new provider.AccessToken({
    accountId: subject.sub,
    client,
    gty: "token_exchange",
    scope: scope || undefined,
  });
  token.resourceServer = resourceServer(resource);
  token.setAudience(resource);
  ctx.body = {
    access_token: await token.save(),
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: "Bearer",
    expires_in: token.expiration,
    scope: scope || undefined,
  };
}

async function issuedAccessToken(value) {
  if (value.split(".").length === 3) {
    try {
      const { payload } = await jose.jwtVerify(value, publicKey, { issuer });
      return payload.sub ? payload : undefined;
    } catch {
      return undefined;
    }
  }
  const stored = await provider.AccessToken.find(value);
  return stored?.accountId ? { sub: stored.accountId, scope: stored.scope } : undefined;
}

process.stdout.write(JSON.stringify({ issuer, port }) + "\n");
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
