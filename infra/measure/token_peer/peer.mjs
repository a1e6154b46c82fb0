// panva's oidc-provider (OpenID Certified) issuing client_credentials access tokens as
// signed JWTs (RFC 9068, EdDSA), the same work Xecure's token endpoint does, on loopback:
// the peer of infra/measure/token_load.py.
//
//   node peer.mjs PORT CLIENT_ID CLIENT_SECRET
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const [port, clientId, clientSecret] = process.argv.slice(2);
if (!port || !clientId || !clientSecret) {
  console.error('usage: peer.mjs PORT CLIENT_ID CLIENT_SECRET');
  process.exit(2);
}
const signing = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
const audience = 'https://api.example';
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    // The only key is Ed25519 (what Xecure signs with by default).
    id_token_signed_response_alg: 'EdDSA',
    scope: 'orders:read',
  }],
  jwks: { keys: [{ ...signing, kid: 'peer-1', alg: 'EdDSA', use: 'sig' }] },
  scopes: ['orders:read'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'orders:read',
        audience,
        accessTokenFormat: 'jwt',
        accessTokenTTL: 600,
        jwt: { sign: { alg: 'EdDSA' } },
      }),
    },
  },
});
provider.listen(Number(port), '127.0.0.1', () => console.log('peer ready'));
