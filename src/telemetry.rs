//! Logs, metrics and health endpoints. (Skeleton.)
