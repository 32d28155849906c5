//! The status pages' bearer check: `Authorization: Bearer <STATUS_TOKEN>`,
//! compared in constant time; no token set means the pages are off.

use serde_json::{json, Value};
use subtle::ConstantTimeEq;

/// `Ok` when `authorization` carries `token`; else the status and body to answer.
pub fn check_bearer(token: Option<&str>, authorization: Option<&str>) -> Result<(), (u16, Value)> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err((403, json!({"error": "status pages are off: set STATUS_TOKEN"})));
    };
    let given = authorization.unwrap_or_default();
    let expected = format!("Bearer {token}");
    if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err((401, json!({"error": "missing or wrong bearer token"})))
    }
}

#[cfg(test)]
mod tests {
    use super::check_bearer;

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
}
