//! Who may read the status pages: `STATUS_TOKEN`, compared in constant
//! time. Scripts send it as a bearer token (`GET /invalidations`); a
//! browser as the password of HTTP Basic authentication, any user name
//! (`GET /status`); `GET /entries/{id}` takes either. No token set means
//! the pages are off.

use serde_json::{json, Value};
use subtle::ConstantTimeEq;

/// The challenge a browser answers with its login prompt.
pub const BASIC_CHALLENGE: &str = "Basic realm=\"invalidator\"";

/// How a caller may prove it holds the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: Basic base64(<any user>:<token>)`.
    Basic,
    /// Either.
    BasicOrBearer,
}

/// `Ok` when `authorization` carries `token`; else the status and body to answer.
pub fn check_bearer(token: Option<&str>, authorization: Option<&str>) -> Result<(), (u16, Value)> {
    check(token, authorization, Accept::Bearer)
}

/// `Ok` when `authorization` carries `token` in a way `accept` takes; else
/// the status (403 when the pages are off, 401 otherwise) and body to answer.
pub fn check(token: Option<&str>, authorization: Option<&str>, accept: Accept) -> Result<(), (u16, Value)> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err((403, json!({"error": "status pages are off: set STATUS_TOKEN"})));
    };
    let given = authorization.unwrap_or_default();
    let bearer = matches!(accept, Accept::Bearer | Accept::BasicOrBearer) && same(given, &format!("Bearer {token}"));
    let basic = matches!(accept, Accept::Basic | Accept::BasicOrBearer) && basic_password_is(given, token);
    if bearer || basic {
        return Ok(());
    }
    let wanted = match accept {
        Accept::Bearer => "missing or wrong bearer token",
        Accept::Basic => "missing or wrong password (HTTP Basic authentication, any user name)",
        Accept::BasicOrBearer => "missing or wrong bearer token or password (HTTP Basic authentication)",
    };
    Err((401, json!({"error": wanted})))
}

fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Whether `authorization` is Basic credentials whose password is `token`.
fn basic_password_is(authorization: &str, token: &str) -> bool {
    let Some((scheme, encoded)) = authorization.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Some(decoded) = base64_decode(encoded.trim()) else {
        return false;
    };
    // The user name holds no ':' (RFC 7617); the password may.
    match decoded.iter().position(|b| *b == b':') {
        Some(colon) => bool::from(decoded[colon + 1..].ct_eq(token.as_bytes())),
        None => false,
    }
}

/// Standard base64 with padding (RFC 4648 §4), as browsers send Basic
/// credentials; `None` for anything else.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    const BITS_PER_CHAR: u32 = 6;
    let body = text.strip_suffix("==").or_else(|| text.strip_suffix('=')).unwrap_or(text);
    if text.len() % 4 != 0 || body.contains('=') {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in body.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << BITS_PER_CHAR) | u32::from(value);
        bits += BITS_PER_CHAR;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{base64_decode, check, check_bearer, Accept};

    #[test]
    fn the_right_bearer_token_passes() {
        assert_eq!(check_bearer(Some("t0ken"), Some("Bearer t0ken")), Ok(()));
    }

    #[test]
    fn a_wrong_or_missing_token_is_401_and_no_token_set_is_403() {
        for given in [None, Some(""), Some("Bearer wrong"), Some("t0ken"), Some("Bearer t0ken "), Some("bearer t0ken")]
        {
            assert_eq!(check_bearer(Some("t0ken"), given).unwrap_err().0, 401, "{given:?}");
        }
        assert_eq!(check_bearer(None, Some("Bearer x")).unwrap_err().0, 403);
        assert_eq!(check_bearer(Some(""), Some("Bearer ")).unwrap_err().0, 403);
        let (_, body) = check_bearer(Some("t0ken"), Some("Bearer wrong")).unwrap_err();
        assert!(!body.to_string().contains("t0ken"), "the token is never echoed");
    }

    #[test]
    fn basic_credentials_pass_with_any_user_name_and_the_token_as_password() {
        // base64("editor:t0ken"), base64(":t0ken"), base64("x:t0:ken") for token "t0:ken".
        assert_eq!(check(Some("t0ken"), Some("Basic ZWRpdG9yOnQwa2Vu"), Accept::Basic), Ok(()));
        assert_eq!(check(Some("t0ken"), Some("basic OnQwa2Vu"), Accept::Basic), Ok(()));
        assert_eq!(check(Some("t0:ken"), Some("Basic eDp0MDprZW4="), Accept::Basic), Ok(()));
        assert_eq!(check(Some("t0ken"), Some("Basic ZWRpdG9yOnQwa2Vu"), Accept::BasicOrBearer), Ok(()));
        assert_eq!(check(Some("t0ken"), Some("Bearer t0ken"), Accept::BasicOrBearer), Ok(()));
    }

    #[test]
    fn wrong_basic_credentials_or_the_wrong_scheme_are_401() {
        // base64("editor:wrong"), base64("t0ken") (no colon), base64("editor:t0ken ").
        for given in
            ["Basic ZWRpdG9yOndyb25n", "Basic dDBrZW4=", "Basic ZWRpdG9yOnQwa2VuIA==", "Basic !!!!", "Basic", ""]
        {
            assert_eq!(check(Some("t0ken"), Some(given), Accept::Basic).unwrap_err().0, 401, "{given:?}");
        }
        assert_eq!(check(Some("t0ken"), Some("Bearer t0ken"), Accept::Basic).unwrap_err().0, 401);
        assert_eq!(check(Some("t0ken"), Some("Basic ZWRpdG9yOnQwa2Vu"), Accept::Bearer).unwrap_err().0, 401);
        assert_eq!(check(None, Some("Basic ZWRpdG9yOnQwa2Vu"), Accept::Basic).unwrap_err().0, 403);
    }

    #[test]
    fn base64_decodes_as_rfc_4648_says_and_refuses_the_rest() {
        assert_eq!(base64_decode("Zm9vYmFy").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(base64_decode("Zm9vYg==").as_deref(), Some(&b"foob"[..]));
        assert_eq!(base64_decode("Zm9vYmE=").as_deref(), Some(&b"fooba"[..]));
        assert_eq!(base64_decode("").as_deref(), Some(&b""[..]));
        for bad in ["Zm9", "Zm=vYg==", "Zm9v YmFy", "Zm9vYg=="[..7].as_ref()] {
            assert_eq!(base64_decode(bad), None, "{bad:?}");
        }
    }
}
