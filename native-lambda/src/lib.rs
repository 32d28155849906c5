//! invalidator on AWS Lambda (filled by the Lambda issue).
