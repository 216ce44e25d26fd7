// A real OpenID provider on loopback for Trámite's sign-in tests (api/tests/api/oidc.rs), built on
// the certified `oidc-provider` package. scripts/test starts it in the background:
//
//   PORT=4010 node tests/oidc/provider.js
//
// - issuer http://127.0.0.1:PORT, discovery at /.well-known/openid-configuration;
// - authorization code flow only, PKCE (S256) required;
// - open dynamic client registration (POST /reg): each test registers a client whose redirect
//   URI is its own server's callback, since the provider checks redirect URIs exactly;
// - the package's development login form at /interaction/:uid: any known login, any password;
//   consent is granted without asking (first-party client);
// - accounts ana (groups [cc-operadores]), admin ([ti-admins]) and nadie ([]); a test may create
//   or change an account with PUT /test/accounts/NAME and a JSON body {"groups": [...]};
// - claims (preferred_username, groups, email) are served from the userinfo endpoint, as the
//   specification has it for the code flow; the ID token carries `sub`.
//
// For tests only: it keeps everything in memory and signs with a key made at start.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 4010);
const issuer = `http://127.0.0.1:${port}`;

const accounts = new Map([
  ['ana', { groups: ['cc-operadores'], email: 'ana@example.org' }],
  ['admin', { groups: ['ti-admins'], email: 'admin@example.org' }],
  ['nadie', { groups: [] }],
]);

const signing = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const configuration = {
  jwks: { keys: [{ ...signing, use: 'sig', alg: 'RS256', kid: randomBytes(8).toString('hex') }] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true },
  },
  pkce: { required: () => true },
  responseTypes: ['code'],
  scopes: ['openid', 'profile', 'email', 'groups'],
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'name'],
    email: ['email'],
    groups: ['groups'],
  },
  async findAccount(ctx, id) {
    const account = accounts.get(id);
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: id, email: account.email, groups: account.groups };
      },
    };
  },
  // Consent is not asked: every scope and claim asked for is granted.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(' ') : 'openid');
    grant.addOIDCClaims([...(ctx.oidc.requestParamClaims || [])]);
    await grant.save();
    return grant;
  },
};

const provider = new Provider(issuer, configuration);
const callback = provider.callback();

/** PUT /test/accounts/NAME {"groups": [...]}: creates or changes an account. */
function testAccounts(req, res) {
  const name = decodeURIComponent(req.url.slice('/test/accounts/'.length));
  let body = '';
  req.on('data', (chunk) => { body += chunk; });
  req.on('end', () => {
    try {
      const { groups = [], email } = JSON.parse(body || '{}');
      if (!name || !Array.isArray(groups)) throw new Error('a name and a list of groups');
      accounts.set(name, { groups, email });
      res.writeHead(204).end();
    } catch (e) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(String(e.message));
    }
  });
}

createServer((req, res) => {
  if (req.method === 'PUT' && req.url.startsWith('/test/accounts/')) {
    testAccounts(req, res);
  } else {
    callback(req, res);
  }
}).listen(port, '127.0.0.1', () => {
  console.log(`OpenID provider ${issuer}`);
});
