// Names of an s3 origin's bucket and key prefix (shared by the zod schema and the zod-free quick reading).

/** S3 bucket names as AWS, MinIO, R2 and Swift's s3api accept them: 3-63 of [a-z0-9.-], starting and ending alphanumeric. */
export const BUCKET_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** A key prefix: '/'-separated segments of safe characters, no empty, "." or ".." segment; slashes at the ends are ignored. */
export const PREFIX_PATTERN = /^\/*(?:[A-Za-z0-9_][A-Za-z0-9._-]*|\.[A-Za-z0-9_-][A-Za-z0-9._-]*)(?:\/(?:[A-Za-z0-9_][A-Za-z0-9._-]*|\.[A-Za-z0-9_-][A-Za-z0-9._-]*))*\/*$/;
