//! raw objects, immutable, on the local file system or S3. (work in progress).
