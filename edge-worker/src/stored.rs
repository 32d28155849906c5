//! How the Durable Object's values are written and read: as JSON text, by
//! the serde_json the Worker carries anyway. `worker::Storage::get/put`
//! convert with serde-wasm-bindgen instead, which instantiates every stored
//! type's (de)serialization a second time, in wasm that each cold start
//! loads.
//!
//! Values that Workers before this one stored are JavaScript values made by
//! serde-wasm-bindgen: objects for structs, `Map`s for maps, strings for
//! unit variants, numbers. They are still read, or a workflow in flight, a
//! waiting change or a remembered path would be lost on deploy: [`decode`]
//! walks such a value into a `serde_json::Value` (one walk for every type,
//! no serde instantiation) and reads the type from that as from its own
//! values.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map as JsonMap, Number, Value};
use worker::js_sys::{Array, Map, Number as JsNumber, Object};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Error, Result, Storage};

/// The value stored under `key`, whichever way it was written.
pub async fn get<T: DeserializeOwned>(storage: &Storage, key: &str) -> Result<Option<T>> {
    match get_raw(storage, key).await? {
        Some(value) => decode(key, &value).map(Some),
        None => Ok(None),
    }
}

/// The JavaScript value stored under `key`, as it is.
pub async fn get_raw(storage: &Storage, key: &str) -> Result<Option<JsValue>> {
    let value = JsFuture::from(storage.as_raw().get(key)?).await?;
    Ok((!value.is_undefined()).then_some(value))
}

/// Stores `value` under `key` as JSON text.
pub async fn put<T: Serialize + ?Sized>(storage: &Storage, key: &str, value: &T) -> Result<()> {
    let text = serde_json::to_string(value)?;
    storage.put_raw(key, JsValue::from_str(&text)).await
}

/// Reads a value `key` held: JSON text, or a value an earlier Worker stored
/// through serde-wasm-bindgen (a string among those when `T` is a unit
/// variant, which is not JSON text). Both become a `serde_json::Value`
/// first, and `T` is read from that by the one `serde_json::from_value::<T>`:
/// parsing the text into `T` directly would instantiate each type's
/// deserialization for the text reader, which is larger.
pub fn decode<T: DeserializeOwned>(key: &str, value: &JsValue) -> Result<T> {
    let refused = |e: String| Error::RustError(format!("stored value {key}: {e}"));
    let json = match value.as_string() {
        Some(text) => match serde_json::from_str::<Value>(&text) {
            Ok(json) => json,
            // Not JSON: an earlier Worker's unit variant, or damage, which `T` tells apart.
            Err(_) => Value::String(text),
        },
        None => from_js(value).map_err(refused)?,
    };
    serde_json::from_value(json).map_err(|e| refused(e.to_string()))
}

/// The `(key, value)` pairs of a `list` answer, each value read as [`decode`] does.
pub fn entries<T: DeserializeOwned>(listed: &Map) -> Result<Vec<(String, T)>> {
    let mut out = Vec::with_capacity(listed.size() as usize);
    for pair in listed.entries() {
        let pair: Array = pair?.unchecked_into();
        let key = pair.get(0).as_string().ok_or_else(|| Error::RustError("a listed key is not a string".into()))?;
        let value = decode(&key, &pair.get(1))?;
        out.push((key, value));
    }
    Ok(out)
}

/// The JSON of a JavaScript value as serde-wasm-bindgen (0.6, default
/// settings) writes one: `undefined` or `null` for `None` and unit, numbers
/// for every integer and float (never a `BigInt`: it refuses integers
/// beyond 2^53 instead), arrays for sequences and tuples, `Map`s for
/// maps (keys of any kind: integers come back as their decimal text, as
/// serde_json writes integer keys), plain objects for structs and variants.
fn from_js(value: &JsValue) -> std::result::Result<Value, String> {
    if value.is_undefined() || value.is_null() {
        Ok(Value::Null)
    } else if let Some(b) = value.as_bool() {
        Ok(Value::Bool(b))
    } else if let Some(n) = value.as_f64() {
        number(value, n)
    } else if let Some(s) = value.as_string() {
        Ok(Value::String(s))
    } else if Array::is_array(value) {
        value.unchecked_ref::<Array>().iter().map(|item| from_js(&item)).collect()
    } else if let Some(map) = value.dyn_ref::<Map>() {
        let mut out = JsonMap::new();
        for pair in map.entries() {
            let pair: Array = pair.map_err(|e| format!("{e:?}"))?.unchecked_into();
            out.insert(key_text(&pair.get(0))?, from_js(&pair.get(1))?);
        }
        Ok(Value::Object(out))
    } else if value.is_object() {
        let mut out = JsonMap::new();
        for pair in Object::entries(value.unchecked_ref()).iter() {
            let pair: Array = pair.unchecked_into();
            out.insert(key_text(&pair.get(0))?, from_js(&pair.get(1))?);
        }
        Ok(Value::Object(out))
    } else {
        Err(format!("a JavaScript value serde-wasm-bindgen does not write: {value:?}"))
    }
}

/// An integer when serde-wasm-bindgen would read one (a safe integer), else a float.
fn number(value: &JsValue, n: f64) -> std::result::Result<Value, String> {
    if JsNumber::is_safe_integer(value) {
        Ok(Value::Number(if n < 0.0 { Number::from(n as i64) } else { Number::from(n as u64) }))
    } else {
        // No `{n}`: a float's Display is 14 KB of wasm, not worth one more caller.
        Number::from_f64(n).map(Value::Number).ok_or_else(|| "NaN or an infinity, which JSON cannot hold".to_string())
    }
}

/// A map key as JSON writes it: strings as they are, numbers and booleans as their text.
fn key_text(key: &JsValue) -> std::result::Result<String, String> {
    if let Some(s) = key.as_string() {
        Ok(s)
    } else if let Some(n) = key.as_f64() {
        number(key, n).map(|n| n.to_string())
    } else if let Some(b) = key.as_bool() {
        Ok(b.to_string())
    } else {
        Err(format!("a map key that is neither a string nor a number: {key:?}"))
    }
}
