//! An `InvalidationBatch` body as CloudFront reads it, and the refusals it
//! answers before looking at any other invalidation: MissingBody,
//! MalformedInput, InconsistentQuantities (Quantity is not the number of
//! items), InvalidArgument (no paths, an empty CallerReference, or an item
//! CloudFront would not take, see [`invalidation_path`]) and BatchTooLarge.
//!
//! [`invalidation_path`]: super::invalidation_path

use super::invalidation_path;
use quick_xml::events::Event;

/// The most paths one batch (and all batches in progress) may hold.
pub const MAX_PATHS: usize = 3000;

use super::sigv4_check::refuse;
/// CloudFront's refusal: its error code and message, as for a bad signature.
pub use super::sigv4_check::Refusal;

/// The batch as sent: paths, the stated quantity and the caller reference.
/// An empty element (`<Path></Path>`, `<Path/>`) is an empty value.
pub fn parse(body: &[u8]) -> Result<(Vec<String>, usize, String), String> {
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let (mut paths, mut quantity, mut caller) = (Vec::new(), None, None);
    let mut close = |name: &str, parent: Option<&String>, text: String| -> Result<(), String> {
        match name {
            "Path" => paths.push(text),
            "Quantity" if parent.is_some_and(|p| p == "Paths") => {
                quantity = Some(text.trim().parse::<usize>().map_err(|_| "Quantity is not a number".to_string())?)
            }
            "CallerReference" => caller = Some(text),
            _ => {}
        }
        Ok(())
    };
    loop {
        match reader.read_event().map_err(|e| format!("malformed XML: {e}"))? {
            Event::Start(e) => {
                stack.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                text.clear();
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                close(&name, stack.last(), String::new())?;
            }
            Event::Text(t) => text.push_str(&t.unescape().map_err(|e| format!("malformed XML text: {e}"))?),
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                close(&name, stack.last(), std::mem::take(&mut text))?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok((paths, quantity.ok_or("no Paths/Quantity")?, caller.ok_or("no CallerReference")?))
}

/// The batch's paths and CallerReference, or CloudFront's refusal of it.
pub fn check(body: &[u8]) -> Result<(Vec<String>, String), Refusal> {
    if body.is_empty() {
        return Err(refuse("MissingBody", "This operation requires a body. Ensure that the body is present."));
    }
    let (paths, quantity, caller) = parse(body).map_err(|e| refuse("MalformedInput", e))?;
    if quantity != paths.len() {
        return Err(refuse(
            "InconsistentQuantities",
            format!("Quantity {quantity} differs from the {} paths listed", paths.len()),
        ));
    }
    if paths.is_empty() {
        return Err(refuse("InvalidArgument", "Your request contains no paths to invalidate."));
    }
    if paths.len() > MAX_PATHS {
        return Err(refuse("BatchTooLarge", format!("a batch holds at most {MAX_PATHS} paths")));
    }
    if caller.trim().is_empty() {
        return Err(refuse("InvalidArgument", "CallerReference is empty."));
    }
    for p in &paths {
        invalidation_path::check(p).map_err(|why| refuse("InvalidArgument", why))?;
    }
    Ok((paths, caller))
}
