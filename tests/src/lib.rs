//! Cross-crate tests and local stand-ins (filled by later issues).
