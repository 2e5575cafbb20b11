//! The `auth` header's token: a configured JWT sent as is, or — with client credentials — an
//! HS256 JWT the exporter signs itself (`appId` = client id, `iat`, `exp`, a random `jti`).
//!
//! Signed tokens are short-lived ([`TOKEN_LIFETIME`]) and cached; a new one is signed when the
//! cached one has less than [`REFRESH_MARGIN`] left, so a token never expires in flight. Times
//! come from the [`Clock`]: the simulator checks `exp` against the same (possibly virtual)
//! clock, and tests move it past expiry.
//!
//! Secrets and tokens are held as [`Secret`], so no `Debug`, log line or error can print them.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::error::ClientError;
use crate::clock::Clock;
use crate::config::{Auth, ConfigError, Secret};

/// How long a signed token is valid.
pub const TOKEN_LIFETIME: Duration = Duration::minutes(5);

/// A cached token with less than this left is replaced before use.
pub const REFRESH_MARGIN: Duration = Duration::seconds(60);

/// The claims of a signed token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The app's client id.
    #[serde(rename = "appId")]
    pub app_id: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// A random id, so two tokens signed in the same second differ.
    pub jti: String,
}

/// Hands out the token for one source.
pub struct Authenticator {
    auth: Auth,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

struct State {
    /// The JWT (static mode) or the client secret (signing mode), as last read.
    secret: Secret,
    /// The last signed token and its expiry (signing mode only).
    signed: Option<(Secret, DateTime<Utc>)>,
}

impl Authenticator {
    /// Tokens for `auth`, timed by `clock`.
    pub fn new(auth: &Auth, clock: Arc<dyn Clock>) -> Self {
        Self {
            state: Mutex::new(State {
                secret: auth.secret().value().clone(),
                signed: None,
            }),
            auth: auth.clone(),
            clock,
        }
    }

    /// True when the exporter signs its own tokens (client credentials).
    pub fn signs_tokens(&self) -> bool {
        matches!(self.auth, Auth::ClientCredentials { .. })
    }

    /// The token to send now: the static JWT, or a cached signed one with more than
    /// [`REFRESH_MARGIN`] left, else a freshly signed one.
    pub fn token(&self) -> Result<Secret, ClientError> {
        let mut state = self.lock();
        let Auth::ClientCredentials { client_id, .. } = &self.auth else {
            return Ok(state.secret.clone());
        };
        let now = self.clock.now();
        if let Some((token, exp)) = &state.signed {
            if *exp - now > REFRESH_MARGIN {
                return Ok(token.clone());
            }
        }
        let exp = now + TOKEN_LIFETIME;
        let token = sign(client_id, &state.secret, now, exp)?;
        state.signed = Some((token.clone(), exp));
        Ok(token)
    }

    /// Forgets the cached signed token, so the next [`token`](Self::token) signs a new one.
    pub fn force_refresh(&self) {
        self.lock().signed = None;
    }

    /// Re-reads a `*_file` secret (a rotated credential); returns whether it changed. An
    /// inline secret reads back unchanged. On error the secret in use is kept.
    pub fn reload_secret(&self) -> Result<bool, ConfigError> {
        let fresh = self.auth.reload_secret()?;
        let mut state = self.lock();
        if fresh == state.secret {
            return Ok(false);
        }
        state.secret = fresh;
        state.signed = None;
        Ok(true)
    }

    /// Whether the secret is read from a file (so a reload can pick up a rotation).
    pub fn secret_is_file(&self) -> bool {
        self.auth.secret().file().is_some()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `Auth`'s Debug masks the secret; no token is ever shown.
        f.debug_struct("Authenticator")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// Signs an HS256 token for `client_id` with `secret`, valid from `iat` to `exp`.
pub fn sign(
    client_id: &str,
    secret: &Secret,
    iat: DateTime<Utc>,
    exp: DateTime<Utc>,
) -> Result<Secret, ClientError> {
    let claims = Claims {
        app_id: client_id.to_owned(),
        iat: iat.timestamp(),
        exp: exp.timestamp(),
        jti: format!("{:032x}", rand::rng().random::<u128>()),
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose().as_bytes()),
    )
    .map(Secret::new)
    // jsonwebtoken's errors name the failing step, never the key.
    .map_err(|e| ClientError::Auth(format!("cannot sign a JWT: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use jsonwebtoken::{decode, DecodingKey, Validation};

    fn start() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn verify(token: &Secret, secret: &str) -> Claims {
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false; // checked against the manual clock below
        decode::<Claims>(
            token.expose(),
            &DecodingKey::from_secret(secret.as_bytes()),
            &v,
        )
        .unwrap()
        .claims
    }

    #[test]
    fn signed_token_carries_the_claims_and_verifies_with_the_secret() {
        let clock = ManualClock::new(start());
        let auth = Authenticator::new(
            &Auth::client_credentials("cs-app", "k3y"),
            Arc::new(clock.clone()),
        );
        let token = auth.token().unwrap();
        let claims = verify(&token, "k3y");
        assert_eq!(claims.app_id, "cs-app");
        assert_eq!(claims.iat, start().timestamp());
        assert_eq!(claims.exp, (start() + TOKEN_LIFETIME).timestamp());
        assert_eq!(claims.jti.len(), 32);
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false;
        let wrong = decode::<Claims>(token.expose(), &DecodingKey::from_secret(b"other"), &v);
        assert!(wrong.is_err());
    }

    #[test]
    fn token_is_reused_then_resigned_near_expiry() {
        let clock = ManualClock::new(start());
        let auth = Authenticator::new(
            &Auth::client_credentials("cs-app", "k3y"),
            Arc::new(clock.clone()),
        );
        let first = auth.token().unwrap();
        clock.advance(TOKEN_LIFETIME - REFRESH_MARGIN - Duration::seconds(1));
        assert_eq!(auth.token().unwrap(), first, "61 s left: reused");
        clock.advance(Duration::seconds(1));
        let second = auth.token().unwrap();
        assert_ne!(second, first, "60 s left: re-signed");
        assert_eq!(
            verify(&second, "k3y").exp,
            (clock.now() + TOKEN_LIFETIME).timestamp()
        );
        auth.force_refresh();
        let third = auth.token().unwrap();
        assert_ne!(third, second, "forced: a new jti even in the same second");
    }

    #[test]
    fn static_jwt_is_sent_as_is_and_reloaded_from_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt");
        std::fs::write(&path, "tok-1\n").unwrap();
        let cfg = format!(
            "sources: [{{name: a, host: 'https://h.example', account_id: x, stream_id: s, \
             auth: {{jwt_file: {}}}}}]",
            path.display()
        );
        let config = crate::config::Config::from_yaml_str(&cfg, dir.path()).unwrap();
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(start()));
        let auth = Authenticator::new(&config.sources[0].auth, clock);
        assert!(!auth.signs_tokens() && auth.secret_is_file());
        assert_eq!(auth.token().unwrap().expose(), "tok-1");
        assert!(!auth.reload_secret().unwrap());
        std::fs::write(&path, "tok-2\n").unwrap();
        assert!(auth.reload_secret().unwrap());
        assert_eq!(auth.token().unwrap().expose(), "tok-2");
    }

    #[test]
    fn debug_shows_no_secret() {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(start()));
        let auth = Authenticator::new(&Auth::client_credentials("cs-app", "hunter2"), clock);
        let _ = auth.token().unwrap();
        let text = format!("{auth:?}");
        assert!(!text.contains("hunter2") && !text.contains("eyJ"), "{text}");
    }
}
