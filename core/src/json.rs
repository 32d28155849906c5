//! Reading the JSON others send (Contentful's webhooks and Delivery API answers)
//! into typed structs, as forgiving of odd optional fields as a careful hand read.

use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde_json::Value;

/// An optional value that counts as absent when it holds the wrong type, so
/// one odd field (a `null`, a number where a string was meant) does not spoil
/// an answer whose required parts are fine. Use with
/// `#[serde(default, deserialize_with = "lenient")]`. Never a list: serde
/// would read a struct from an array of its fields, which no one sends.
pub(crate) fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(_) => None,
        value => T::deserialize(value).ok(),
    })
}

/// Contentful's link shape, `{"sys": {"id": "…"}}`, as `space`,
/// `environment` and `contentType` hold it.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Link {
    #[serde(default, deserialize_with = "lenient")]
    sys: Option<LinkSys>,
}

#[derive(Debug, serde::Deserialize)]
struct LinkSys {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
}

/// The id a link points at, if it is there and a string.
pub(crate) fn link_id(link: Option<Link>) -> Option<String> {
    link?.sys?.id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "lenient")]
        n: Option<u64>,
        #[serde(default, deserialize_with = "lenient")]
        link: Option<Link>,
    }

    fn probe(json: &str) -> (Option<u64>, Option<String>) {
        let p: Probe = serde_json::from_str(json).unwrap();
        (p.n, link_id(p.link))
    }

    #[test]
    fn odd_optional_fields_count_as_absent() {
        assert_eq!(probe(r#"{"n":3,"link":{"sys":{"id":"x"}}}"#), (Some(3), Some("x".into())));
        assert_eq!(probe(r#"{}"#), (None, None));
        assert_eq!(probe(r#"{"n":"3","link":{"sys":{"id":7}}}"#), (None, None));
        assert_eq!(probe(r#"{"n":-1,"link":{"sys":null}}"#), (None, None));
        assert_eq!(probe(r#"{"n":null,"link":"x"}"#), (None, None));
        assert_eq!(probe(r#"{"n":[3],"link":[{"id":"x"}]}"#), (None, None));
    }
}
