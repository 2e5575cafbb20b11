//! The `auth` header: a configured static token, or an HS256 JWT signed with the configured
//! client secret whose `appId` is the configured client id and whose `exp` has not passed.
//!
//! `exp` is checked here against the simulator's clock, not by `jsonwebtoken` (which reads the
//! wall clock): tests move a `ManualClock` past a token's expiry and must see the 401.

use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::settings::SimConfig;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    #[serde(rename = "appId", default, skip_serializing_if = "Option::is_none")]
    app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
}

/// Signs a SmartAssist-style JWT (`appId`, `exp`), as a client with these credentials would.
pub fn sign_jwt(
    client_id: &str,
    client_secret: &str,
    exp: DateTime<Utc>,
) -> Result<String, jsonwebtoken::errors::Error> {
    let claims = Claims {
        app_id: Some(client_id.to_string()),
        exp: Some(exp.timestamp() as f64),
        sub: Some("smartassist-simulator".into()),
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(client_secret.as_bytes()),
    )
}

/// Checks the `auth` header at `now`; the error is the 401 message.
pub(crate) fn check(
    token: Option<&str>,
    cfg: &SimConfig,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let token = token
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or("missing auth header")?;
    if cfg.static_token.as_deref() == Some(token) {
        return Ok(());
    }
    let (Some(id), Some(secret)) = (&cfg.client_id, &cfg.client_secret) else {
        return Err("invalid auth token".into());
    };
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    // SmartAssist tokens carry no audience; do not refuse one that happens to.
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map_err(|e| format!("invalid auth token: {e}"))?
    .claims;
    if claims.app_id.as_deref() != Some(id.as_str()) {
        return Err("invalid auth token: appId does not match the client id".into());
    }
    match claims.exp {
        Some(exp) if exp > now.timestamp() as f64 => Ok(()),
        Some(_) => Err("auth token expired".into()),
        None => Err("invalid auth token: no exp claim".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn tokens_are_checked_against_the_given_clock() {
        let cfg = SimConfig::default();
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = cfg.client_id.clone().unwrap();
        let secret = cfg.client_secret.clone().unwrap();
        let good = sign_jwt(&id, &secret, now + TimeDelta::minutes(5)).unwrap();
        assert_eq!(check(Some(&good), &cfg, now), Ok(()));
        assert!(check(Some(&good), &cfg, now + TimeDelta::minutes(5)).is_err());
        let wrong_secret = sign_jwt(&id, "nope", now + TimeDelta::minutes(5)).unwrap();
        assert!(check(Some(&wrong_secret), &cfg, now).is_err());
        let wrong_app = sign_jwt("cs-other", &secret, now + TimeDelta::minutes(5)).unwrap();
        assert!(check(Some(&wrong_app), &cfg, now).is_err());
        assert_eq!(check(Some("sim-static-token"), &cfg, now), Ok(()));
        assert!(check(None, &cfg, now).is_err());
        assert!(check(Some("garbage"), &cfg, now).is_err());
    }
}
