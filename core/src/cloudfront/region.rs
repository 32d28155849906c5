//! The region CloudFront requests are signed for. CloudFront is a global
//! service: its endpoint in the `aws` partition accepts only signatures
//! scoped to `us-east-1` ("Credential should be scoped to a valid region"),
//! whatever region the caller runs in. `AWS_REGION` (on Lambda the
//! function's own region, which a function cannot override) therefore never
//! decides it; it keeps deciding the regional services (SQS, DynamoDB, Step
//! Functions, Secrets Manager, SSM).

/// CloudFront's signing region for its global endpoint
/// (`https://cloudfront.amazonaws.com`).
pub const GLOBAL_SIGNING_REGION: &str = "us-east-1";

/// The region a request to CloudFront at `endpoint` (scheme and host, as
/// `CLOUDFRONT_ENDPOINT` holds it) is signed for: the region the endpoint's
/// host names in another partition (`cloudfront.cn-northwest-1.amazonaws.com.cn`
/// signs for `cn-northwest-1`), otherwise [`GLOBAL_SIGNING_REGION`], for the
/// global endpoint and for any host that names no region (a stand-in on
/// 127.0.0.1).
///
/// ```
/// use invalidator_core::cloudfront::signing_region;
/// assert_eq!(signing_region("https://cloudfront.amazonaws.com"), "us-east-1");
/// assert_eq!(signing_region("https://cloudfront.cn-northwest-1.amazonaws.com.cn"), "cn-northwest-1");
/// assert_eq!(signing_region("http://127.0.0.1:9000"), "us-east-1");
/// ```
pub fn signing_region(endpoint: &str) -> String {
    let host = endpoint.split_once("://").map_or(endpoint, |(_, rest)| rest);
    let host = host.split(['/', ':']).next().unwrap_or_default().to_ascii_lowercase();
    let mut labels = host.split('.');
    let service = labels.next().unwrap_or_default();
    let named = labels.next().filter(|label| is_region(label));
    match named {
        Some(region) if service == "cloudfront" || service == "cloudfront-fips" => region.to_string(),
        _ => GLOBAL_SIGNING_REGION.to_string(),
    }
}

/// Whether `label` reads as an AWS region name: lower-case words joined by
/// `-`, ending in a number (`us-east-1`, `cn-northwest-1`, `us-gov-west-1`).
pub fn is_region(label: &str) -> bool {
    let words: Vec<&str> = label.split('-').collect();
    let last_is_number = words.last().is_some_and(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()));
    let others_are_words =
        words[..words.len() - 1].iter().all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()));
    words.len() >= 3 && last_is_number && others_are_words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_global_endpoint_and_stand_ins_sign_for_us_east_1_whatever_the_function_runs_in() {
        for endpoint in [
            "https://cloudfront.amazonaws.com",
            "https://cloudfront.amazonaws.com/",
            "https://CloudFront.AmazonAWS.com",
            "https://cloudfront-fips.amazonaws.com",
            "http://127.0.0.1:8787",
            "http://localhost:4566",
            "https://cloudfront.example.com",
        ] {
            assert_eq!(signing_region(endpoint), "us-east-1", "{endpoint}");
        }
    }

    #[test]
    fn another_partitions_endpoint_signs_for_the_region_it_names() {
        assert_eq!(signing_region("https://cloudfront.cn-northwest-1.amazonaws.com.cn"), "cn-northwest-1");
        assert_eq!(signing_region("https://cloudfront.cn-northwest-1.amazonaws.com.cn:443"), "cn-northwest-1");
        assert_eq!(signing_region("https://cloudfront-fips.us-gov-west-1.amazonaws.com"), "us-gov-west-1");
        // A region-like label on another service's host decides nothing.
        assert_eq!(signing_region("https://sqs.eu-west-1.amazonaws.com"), "us-east-1");
    }

    #[test]
    fn region_names() {
        for ok in ["us-east-1", "eu-west-1", "cn-northwest-1", "us-gov-west-1", "ap-southeast-5"] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in ["", "us", "us-east", "us-east-", "US-EAST-1", "us_east_1", "1-east-1", "-east-1", "amazonaws"] {
            assert!(!is_region(bad), "{bad}");
        }
    }
}
