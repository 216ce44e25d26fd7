//! The provider as Trámite talks to it, through the `openidconnect` crate: discovery (kept for an
//! hour, and read again when an ID token is signed by a key it did not list, so key rotation
//! needs no restart), the authorization URL with state, nonce and a PKCE S256 challenge, and the
//! callback's code exchange with the ID token verified against the provider's keys (signature,
//! `iss`, `aud`, `exp` on the runtime's clock, `nonce`, `at_hash`).
//!
//! Requests go through the `reqwest` 0.13 client already in the tree for object storage (rustls,
//! the system's roots), without following redirects (the crate's advice against SSRF), with
//! timeouts and a bounded answer size.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreRevocableToken,
    CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessTokenHash, AdditionalClaims, AsyncHttpClient, AuthorizationCode, ClaimsVerificationError, Client, ClientId,
    ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest,
    HttpResponse, IdTokenFields, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse, SubjectIdentifier, UserInfoClaims,
};
use serde_json::{Map, Value};

use super::config::OidcConfig;

/// Every claim beyond the standard ones (`groups`, or whatever the configuration names).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(transparent)]
pub struct OtherClaims(Map<String, Value>);

impl AdditionalClaims for OtherClaims {}

type TokenFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenAnswer = StandardTokenResponse<TokenFields, CoreTokenType>;

/// A client built from the provider's discovery document.
type OidcClient = Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenAnswer,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// How long a discovery document (with the provider's keys) is used before it is read again.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// The largest answer read from the provider.
const MAX_ANSWER: usize = 1 << 20;

/// Why talking to the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Its discovery document or keys could not be read.
    #[error("the provider cannot be reached: {0}")]
    Unreachable(String),
    /// The token endpoint refused the code (used, expired, or not ours).
    #[error("the provider refused the code: {0}")]
    Refused(String),
    /// The ID token (or the userinfo answer) does not verify.
    #[error("the provider's answer does not verify: {0}")]
    Invalid(String),
}

/// What the sign-in's first leg leaves to check on the way back.
#[derive(Debug)]
pub struct Authorization {
    /// Where to send the browser.
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The provider of `serve --oidc`.
#[derive(Debug)]
pub struct Provider {
    pub config: OidcConfig,
    http: Http,
    discovered: RwLock<Option<(Instant, Arc<OidcClient>)>>,
}

impl Provider {
    pub fn new(config: OidcConfig) -> Result<Provider, String> {
        let client = reqwest_rustls::Client::builder()
            .redirect(reqwest_rustls::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Provider { config, http: Http(client), discovered: RwLock::new(None) })
    }

    /// Reads the discovery document and keys now (at start: an unreachable provider is
    /// reported, and tried again at the first sign-in).
    pub async fn discover(&self) -> Result<(), ProviderError> {
        self.fresh_client().await.map(drop)
    }

    /// The client, discovered within the hour.
    async fn client(&self) -> Result<Arc<OidcClient>, ProviderError> {
        let cached = self.discovered.read().unwrap_or_else(PoisonError::into_inner).clone();
        match cached {
            Some((at, client)) if at.elapsed() < DISCOVERY_TTL => Ok(client),
            _ => self.fresh_client().await,
        }
    }

    /// Reads the discovery document and keys again.
    async fn fresh_client(&self) -> Result<Arc<OidcClient>, ProviderError> {
        let issuer =
            IssuerUrl::new(self.config.issuer.clone()).map_err(|e| ProviderError::Unreachable(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| ProviderError::Unreachable(chain(&e)))?;
        let redirect = RedirectUrl::new(self.config.redirect_url.clone())
            .map_err(|e| ProviderError::Unreachable(e.to_string()))?;
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            self.config.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect);
        let client = Arc::new(client);
        *self.discovered.write().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), client.clone()));
        Ok(client)
    }

    /// The authorization URL of a new sign-in, with its state and nonce (256 random bits each)
    /// and PKCE verifier.
    pub async fn authorize(&self) -> Result<Authorization, ProviderError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let scopes = self.config.scopes.iter().filter(|s| *s != "openid").map(|s| Scope::new(s.clone()));
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                || CsrfToken::new_random_len(32),
                || Nonce::new_random_len(32),
            )
            .add_scopes(scopes)
            .set_pkce_challenge(challenge)
            .url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges the callback's code and verifies the ID token; the verified subject and every
    /// claim (the ID token's, completed with the userinfo endpoint's when the configured claims
    /// are missing from it).
    pub async fn finish(
        &self,
        code: &str,
        nonce: &str,
        pkce_verifier: &str,
        now: Timestamp,
    ) -> Result<(String, Map<String, Value>), ProviderError> {
        let client = self.client().await?;
        let answer: TokenAnswer = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| ProviderError::Unreachable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_string()))
            .request_async(&self.http)
            .await
            .map_err(|e| ProviderError::Refused(chain(&e)))?;
        let nonce = Nonce::new(nonce.to_string());
        let verified = match verify(&client, &answer, &nonce, now) {
            // A key the cached document did not list: the provider may have rotated its keys.
            Err(Verification::UnknownKey(_)) => verify(&*self.fresh_client().await?, &answer, &nonce, now),
            other => other,
        };
        let (subject, mut claims) = verified.map_err(|e| ProviderError::Invalid(e.to_string()))?;
        if self.config.lacks_claims(&claims) && client.user_info_url().is_some() {
            let more: UserInfoClaims<OtherClaims, CoreGenderClaim> = client
                .user_info(answer.access_token().clone(), Some(SubjectIdentifier::new(subject.clone())))
                .map_err(|e| ProviderError::Invalid(e.to_string()))?
                .request_async(&self.http)
                .await
                .map_err(|e| ProviderError::Invalid(format!("userinfo: {}", chain(&e))))?;
            for (k, v) in as_object(&more) {
                claims.entry(k).or_insert(v);
            }
        }
        Ok((subject, claims))
    }
}

/// Why an ID token did not verify.
#[derive(Debug, thiserror::Error)]
enum Verification {
    #[error("{0}")]
    UnknownKey(String),
    #[error("{0}")]
    Failed(String),
}

/// Verifies the ID token of `answer` with `client`'s keys at `now`: its subject and claims.
fn verify(
    client: &OidcClient,
    answer: &TokenAnswer,
    nonce: &Nonce,
    now: Timestamp,
) -> Result<(String, Map<String, Value>), Verification> {
    let failed = |e: String| Verification::Failed(e);
    let id_token = answer.extra_fields().id_token().ok_or_else(|| failed("no ID token in the answer".into()))?;
    let at = chrono::DateTime::from_timestamp(now.as_second(), now.subsec_nanosecond().max(0) as u32)
        .ok_or_else(|| failed("the clock is out of range".into()))?;
    let verifier = client.id_token_verifier().set_time_fn(move || at);
    let claims = id_token.claims(&verifier, nonce).map_err(|e| match e {
        ClaimsVerificationError::SignatureVerification(s) => Verification::UnknownKey(format!("signature: {s}")),
        other => failed(other.to_string()),
    })?;
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token.signing_alg().map_err(|e| failed(e.to_string()))?;
        let key = id_token.signing_key(&verifier).map_err(|e| failed(e.to_string()))?;
        let actual = AccessTokenHash::from_token(answer.access_token(), alg, key).map_err(|e| failed(e.to_string()))?;
        if actual != *expected {
            return Err(failed("the access token does not match the ID token's at_hash".into()));
        }
    }
    Ok((claims.subject().to_string(), as_object(claims)))
}

/// A claims set as one JSON object (standard and other claims side by side).
fn as_object(claims: &impl serde::Serialize) -> Map<String, Value> {
    match serde_json::to_value(claims) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// An error with its causes, as one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// The HTTP client handed to `openidconnect`.
#[derive(Debug, Clone)]
struct Http(reqwest_rustls::Client);

#[derive(Debug, thiserror::Error)]
enum HttpError {
    #[error(transparent)]
    Request(#[from] reqwest_rustls::Error),
    #[error(transparent)]
    Http(#[from] openidconnect::http::Error),
    #[error("the provider's answer is larger than {MAX_ANSWER} bytes")]
    TooLarge,
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut response = self.0.execute(reqwest_rustls::Request::try_from(request)?).await?;
            let mut answer = openidconnect::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_ANSWER {
                    return Err(HttpError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(answer.body(body)?)
        })
    }
}
