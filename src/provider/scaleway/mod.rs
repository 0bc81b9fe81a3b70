//! Scaleway Secret Manager v1beta1: HTTP client and wire types. (Skeleton.)
