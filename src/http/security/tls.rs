//! `tls_server_config` → a rustls [`ServerConfig`] (ring provider, as reqwest uses).
//!
//! The toolkit speaks Go's `crypto/tls` names. Everything rustls can honour is mapped; what it
//! cannot (TLS 1.0 and 1.1, CBC and RSA-key-exchange suites, P-521) is refused with the value
//! named, rather than silently served with something else.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::ring::{cipher_suite, kx_group};
use rustls::crypto::{CryptoProvider, SupportedKxGroup, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig,
    SignatureScheme, SupportedCipherSuite, SupportedProtocolVersion,
};

use super::file::{set, RawTls};
use super::Invalid;

const TLS: &str = "tls_server_config";

/// The toolkit's `client_auth_type` values (Go's `tls.ClientAuthType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClientAuth {
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

const CLIENT_AUTH_NAMES: &str = "NoClientCert, RequestClientCert, RequireAnyClientCert, \
                                 VerifyClientCertIfGiven, RequireAndVerifyClientCert";

impl ClientAuth {
    fn parse(value: Option<&str>) -> Result<Self, Invalid> {
        Ok(match value.unwrap_or("") {
            "" | "NoClientCert" => Self::NoClientCert,
            "RequestClientCert" => Self::RequestClientCert,
            // "RequireClientCert" is the toolkit's old spelling, still accepted there.
            "RequireAnyClientCert" | "RequireClientCert" => Self::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => Self::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => Self::RequireAndVerifyClientCert,
            other => {
                return Err(Invalid::new(
                    format!("{TLS}.client_auth_type"),
                    format!("unknown value {other:?} (expected one of {CLIENT_AUTH_NAMES})"),
                ))
            }
        })
    }

    fn verifies(self) -> bool {
        matches!(
            self,
            Self::VerifyClientCertIfGiven | Self::RequireAndVerifyClientCert
        )
    }

    fn mandatory(self) -> bool {
        matches!(
            self,
            Self::RequireAnyClientCert | Self::RequireAndVerifyClientCert
        )
    }
}

/// The TLS 1.2 suites Go offers (`tls.CipherSuites()`), with the ring suite each maps to, or
/// `None` when rustls does not implement it (CBC, RSA key exchange).
const TLS12_SUITES: &[(&str, Option<SupportedCipherSuite>)] = &[
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        Some(cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        Some(cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        Some(cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        Some(cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        Some(cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Some(cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
    ),
    ("TLS_RSA_WITH_AES_128_CBC_SHA", None),
    ("TLS_RSA_WITH_AES_256_CBC_SHA", None),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", None),
    ("TLS_RSA_WITH_AES_256_GCM_SHA384", None),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", None),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", None),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", None),
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", None),
];

/// TLS 1.3 suites. Go does not let them be configured (`cipher_suites` applies "up to TLS
/// 1.2"), so naming them is accepted and changes nothing, as in the toolkit.
const TLS13_SUITE_NAMES: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// Go's curve names that rustls (ring) implements, in the toolkit's spelling.
fn curve(name: &str) -> Option<&'static dyn SupportedKxGroup> {
    match name {
        "X25519" => Some(kx_group::X25519),
        "CurveP256" => Some(kx_group::SECP256R1),
        "CurveP384" => Some(kx_group::SECP384R1),
        _ => None,
    }
}

/// One end of the version range: 12 or 13.
fn version(key: &str, value: Option<&str>, default: u8) -> Result<u8, Invalid> {
    let key = || format!("{TLS}.{key}");
    match value.unwrap_or("") {
        "" => Ok(default),
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        v @ ("TLS10" | "TLS11") => Err(Invalid::new(
            key(),
            format!("{v} is not supported (rustls does TLS12 and TLS13)"),
        )),
        v => Err(Invalid::new(
            key(),
            format!("unknown TLS version {v:?} (expected TLS12 or TLS13)"),
        )),
    }
}

/// Builds the server's TLS config, or `None` when the file does not ask for TLS.
pub(super) fn server_config(
    raw: &RawTls,
    base_dir: &Path,
    http2: bool,
) -> Result<Option<ServerConfig>, Invalid> {
    if !raw.is_enabled() {
        return Ok(None);
    }
    let (cert_pem, cert_key) = pem_source(&raw.cert, &raw.cert_file, "cert", base_dir)?
        .ok_or_else(|| Invalid::new(TLS, "missing one of cert or cert_file"))?;
    let inline_key = raw
        .key
        .as_ref()
        .filter(|k| !k.expose().is_empty())
        .map(|k| k.expose().to_owned());
    let (key_pem, key_key) = pem_source(&inline_key, &raw.key_file, "key", base_dir)?
        .ok_or_else(|| Invalid::new(TLS, "missing one of key or key_file"))?;

    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| Invalid::new(&cert_key, format!("not a PEM certificate: {e}")))?;
    if chain.is_empty() {
        return Err(Invalid::new(&cert_key, "no PEM certificate found"));
    }
    // The key's own error text never quotes the key.
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| Invalid::new(&key_key, format!("no usable PEM private key: {e}")))?;

    let min = version("min_version", raw.min_version.as_deref(), 12)?;
    let max = version("max_version", raw.max_version.as_deref(), 13)?;
    if min > max {
        return Err(Invalid::new(
            TLS,
            format!("min_version TLS{min} is above max_version TLS{max}"),
        ));
    }
    let versions: Vec<&'static SupportedProtocolVersion> =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, p)| p)
            .collect();

    let mut provider = rustls::crypto::ring::default_provider();
    if !raw.cipher_suites.is_empty() {
        provider.cipher_suites = cipher_suites(&raw.cipher_suites, &provider.cipher_suites)?;
    }
    if !raw.curve_preferences.is_empty() {
        provider.kx_groups = curves(&raw.curve_preferences)?;
    }
    let provider = Arc::new(provider);

    let client_auth = ClientAuth::parse(raw.client_auth_type.as_deref())?;
    let client_cas = client_ca(raw, base_dir)?;
    let verifier = client_verifier(
        client_auth,
        client_cas,
        raw.client_allowed_sans.clone(),
        &provider,
    )?;

    let builder = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| Invalid::new(TLS, e.to_string()))?;
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        Invalid::new(
            TLS,
            format!("the certificate and key cannot be used together: {e}"),
        )
    })?;
    config.ignore_client_order = raw.prefer_server_cipher_suites.unwrap_or(true);
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Some(config))
}

/// The PEM text of an inline value or a file (relative to the web config's directory), with the
/// key to name in errors. Both at once is refused: the toolkit would silently use the file.
fn pem_source(
    inline: &Option<String>,
    file: &Option<String>,
    name: &str,
    base_dir: &Path,
) -> Result<Option<(Vec<u8>, String)>, Invalid> {
    match (set(inline), set(file)) {
        (true, true) => Err(Invalid::new(
            TLS,
            format!("give one of {name} or {name}_file, not both"),
        )),
        (true, false) => Ok(inline
            .as_ref()
            .map(|text| (text.as_bytes().to_vec(), format!("{TLS}.{name}")))),
        (false, true) => {
            let key = format!("{TLS}.{name}_file");
            let path = base_dir.join(file.as_deref().unwrap_or_default());
            let bytes =
                crate::config::files::read_capped(&path, crate::config::files::MAX_CONFIG_BYTES)
                    .map_err(|e| {
                        Invalid::new(&key, format!("cannot read {}: {e}", path.display()))
                    })?;
            Ok(Some((bytes, key)))
        }
        (false, false) => Ok(None),
    }
}

/// Maps `cipher_suites` onto ring's suites. TLS 1.3 suites stay as the provider has them; the
/// TLS 1.2 ones are those listed, in the order listed (the server's preference).
fn cipher_suites(
    names: &[String],
    defaults: &[SupportedCipherSuite],
) -> Result<Vec<SupportedCipherSuite>, Invalid> {
    let mut suites: Vec<SupportedCipherSuite> = defaults
        .iter()
        .copied()
        .filter(|s| matches!(s, SupportedCipherSuite::Tls13(_)))
        .collect();
    for (index, name) in names.iter().enumerate() {
        let key = || format!("{TLS}.cipher_suites[{index}]");
        if TLS13_SUITE_NAMES.contains(&name.as_str()) {
            continue;
        }
        match TLS12_SUITES.iter().find(|(n, _)| n == name) {
            Some((_, Some(suite))) => {
                if !suites.contains(suite) {
                    suites.push(*suite);
                }
            }
            Some((_, None)) => {
                return Err(Invalid::new(
                    key(),
                    format!(
                        "{name} is not supported by rustls (it does the ECDHE suites with \
                         AES-GCM or ChaCha20-Poly1305: {})",
                        supported_suite_names()
                    ),
                ))
            }
            None => {
                return Err(Invalid::new(
                    key(),
                    format!(
                        "unknown cipher suite {name:?} (supported: {})",
                        supported_suite_names()
                    ),
                ))
            }
        }
    }
    Ok(suites)
}

fn supported_suite_names() -> String {
    TLS12_SUITES
        .iter()
        .filter(|(_, s)| s.is_some())
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Maps `curve_preferences` onto ring's key exchange groups, in preference order.
fn curves(names: &[String]) -> Result<Vec<&'static dyn SupportedKxGroup>, Invalid> {
    let mut groups: Vec<&'static dyn SupportedKxGroup> = Vec::new();
    for (index, name) in names.iter().enumerate() {
        let key = format!("{TLS}.curve_preferences[{index}]");
        match curve(name) {
            Some(group) => {
                if !groups.iter().any(|g| g.name() == group.name()) {
                    groups.push(group);
                }
            }
            None if name == "CurveP521" => return Err(Invalid::new(
                key,
                "CurveP521 is not supported by rustls (supported: X25519, CurveP256, CurveP384)",
            )),
            None => {
                return Err(Invalid::new(
                    key,
                    format!("unknown curve {name:?} (supported: X25519, CurveP256, CurveP384)"),
                ))
            }
        }
    }
    Ok(groups)
}

/// The client CA bundle from `client_ca_file` or inline `client_ca`, if any.
fn client_ca(raw: &RawTls, base_dir: &Path) -> Result<Option<RootCertStore>, Invalid> {
    let Some((pem, key)) = pem_source(&raw.client_ca, &raw.client_ca_file, "client_ca", base_dir)?
    else {
        return Ok(None);
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert =
            cert.map_err(|e| Invalid::new(&key, format!("not a PEM certificate bundle: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| Invalid::new(&key, format!("not a usable CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(Invalid::new(&key, "no PEM certificate found"));
    }
    Ok(Some(roots))
}

/// The client certificate policy, or `None` for `NoClientCert`.
fn client_verifier(
    auth: ClientAuth,
    cas: Option<RootCertStore>,
    allowed_sans: Option<Vec<String>>,
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, Invalid> {
    let key = format!("{TLS}.client_auth_type");
    let verifier: Arc<dyn ClientCertVerifier> = match (auth, cas) {
        (ClientAuth::NoClientCert, Some(_)) => {
            return Err(Invalid::new(
                key,
                "a client CA is configured but client_auth_type is NoClientCert; set \
                 RequireAndVerifyClientCert to check client certificates",
            ))
        }
        (ClientAuth::NoClientCert, None) => {
            if allowed_sans.is_some() {
                tracing::warn!(
                    "tls_server_config.client_allowed_sans has no effect with client_auth_type NoClientCert"
                );
            }
            return Ok(None);
        }
        (auth, None) if auth.verifies() => {
            return Err(Invalid::new(
                key,
                format!(
                "{auth:?} needs client_ca_file or client_ca to verify client certificates against"
            ),
            ))
        }
        (auth, Some(roots)) if auth.verifies() => {
            let builder =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let builder = if auth.mandatory() {
                builder
            } else {
                builder.allow_unauthenticated()
            };
            builder
                .build()
                .map_err(|e| Invalid::new(format!("{TLS}.client_ca_file"), e.to_string()))?
        }
        (auth, roots) => Arc::new(AnyClientCert {
            mandatory: auth.mandatory(),
            hints: roots.map(|r| r.subjects()).unwrap_or_default(),
            algorithms: provider.signature_verification_algorithms,
        }),
    };
    Ok(Some(match allowed_sans {
        Some(allowed) => Arc::new(AllowedSans {
            inner: verifier,
            allowed,
        }),
        None => verifier,
    }))
}

/// `RequestClientCert` and `RequireAnyClientCert`: a client certificate is asked for (and for
/// the latter required) but not checked against any CA. The handshake signature is still
/// verified, so the client holds the certificate's key.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    hints: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `client_allowed_sans`: after the policy's own check, the client certificate must carry a
/// DNS, e-mail, IP or URI SAN exactly equal to one in the list (the toolkit's
/// `VerifyPeerCertificate`).
struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<String>,
}

impl fmt::Debug for AllowedSans {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllowedSans")
            .field("inner", &self.inner)
            .field("allowed", &self.allowed.len())
            .finish()
    }
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        if cert_sans(end_entity)
            .iter()
            .any(|san| self.allowed.contains(san))
        {
            Ok(verified)
        } else {
            // The SANs are the client's names; they stay out of the log.
            tracing::warn!(
                "client certificate refused: none of its SANs is in tls_server_config.client_allowed_sans"
            );
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A certificate's DNS, e-mail, IP and URI subject alternative names, written as Go writes
/// them (IPs in their usual text form, IPv4-mapped IPv6 as IPv4). Empty if unparsable.
pub(crate) fn cert_sans(der: &[u8]) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                Some((*s).to_owned())
            }
            GeneralName::IPAddress(bytes) => ip_text(bytes),
            _ => None,
        })
        .collect()
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    let ip = match bytes.len() {
        4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(bytes).ok()?)),
        16 => {
            let v6 = Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?);
            match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            }
        }
        _ => return None,
    };
    Some(ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_map_and_old_ones_are_refused_by_name() {
        assert_eq!(version("min_version", None, 12).unwrap(), 12);
        assert_eq!(version("min_version", Some("TLS13"), 12).unwrap(), 13);
        let e = version("min_version", Some("TLS10"), 12).unwrap_err();
        assert_eq!(e.key, "tls_server_config.min_version");
        assert_eq!(
            e.message,
            "TLS10 is not supported (rustls does TLS12 and TLS13)"
        );
        let e = version("max_version", Some("SSL3"), 13).unwrap_err();
        assert!(e.message.contains("\"SSL3\""), "{}", e.message);
    }

    #[test]
    fn cipher_suites_keep_order_and_tls13() {
        let defaults = rustls::crypto::ring::default_provider().cipher_suites;
        let names = vec![
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256".to_owned(),
            "TLS_AES_128_GCM_SHA256".to_owned(),
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".to_owned(),
        ];
        let suites = cipher_suites(&names, &defaults).unwrap();
        let tls12: Vec<_> = suites
            .iter()
            .filter(|s| matches!(s, SupportedCipherSuite::Tls12(_)))
            .collect();
        assert_eq!(
            tls12,
            [
                &cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
                &cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
            ]
        );
        assert_eq!(suites.len(), 3 + 2);

        let e = cipher_suites(&["TLS_RSA_WITH_AES_128_CBC_SHA".to_owned()], &defaults).unwrap_err();
        assert_eq!(e.key, "tls_server_config.cipher_suites[0]");
        assert!(e
            .message
            .starts_with("TLS_RSA_WITH_AES_128_CBC_SHA is not supported by rustls"));
        let e = cipher_suites(&["TLS_MADE_UP".to_owned()], &defaults).unwrap_err();
        assert!(e
            .message
            .starts_with("unknown cipher suite \"TLS_MADE_UP\""));
    }

    #[test]
    fn curves_map_in_order_and_p521_is_refused() {
        let groups = curves(&["CurveP384".to_owned(), "X25519".to_owned()]).unwrap();
        assert_eq!(
            groups.iter().map(|g| g.name()).collect::<Vec<_>>(),
            [kx_group::SECP384R1.name(), kx_group::X25519.name()]
        );
        let e = curves(&["X25519".to_owned(), "CurveP521".to_owned()]).unwrap_err();
        assert_eq!(e.key, "tls_server_config.curve_preferences[1]");
        assert!(e
            .message
            .starts_with("CurveP521 is not supported by rustls"));
    }

    #[test]
    fn client_auth_names() {
        assert_eq!(ClientAuth::parse(None).unwrap(), ClientAuth::NoClientCert);
        assert_eq!(
            ClientAuth::parse(Some("RequireClientCert")).unwrap(),
            ClientAuth::RequireAnyClientCert
        );
        let e = ClientAuth::parse(Some("Always")).unwrap_err();
        assert_eq!(e.key, "tls_server_config.client_auth_type");
    }

    #[test]
    fn ip_sans_read_as_go_writes_them() {
        assert_eq!(ip_text(&[127, 0, 0, 1]).unwrap(), "127.0.0.1");
        let mapped = Ipv4Addr::new(10, 1, 2, 3).to_ipv6_mapped().octets();
        assert_eq!(ip_text(&mapped).unwrap(), "10.1.2.3");
        assert_eq!(ip_text(&Ipv6Addr::LOCALHOST.octets()).unwrap(), "::1");
        assert_eq!(ip_text(&[1, 2, 3]), None);
    }
}
